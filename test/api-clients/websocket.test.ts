// A WebSocket upgrade with a bearer token is authenticated like any API-client request: a valid token
// opens the socket with the caller's identity headers and own token on the upstream handshake; a bad one is refused.
import t from 'tap';
import WebSocket from 'ws';
import { apiWorld, userToken } from './harness.js';

t.test('bearer WebSocket upgrade', async (t) => {
  const w = await apiWorld(t, 'oidc');
  const token = await userToken(w.idp, 'dora');
  const port = new URL(w.aw.url).port;
  const open = (bearer: string) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, {
      headers: { authorization: `Bearer ${bearer}` },
    });
    t.teardown(() => ws.terminate());
    return new Promise<{ headers: Record<string, string> } | number>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data))));
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('error', reject);
    });
  };
  const ok = await open(token);
  t.type(ok, 'object', 'the socket opened');
  const handshake = ok as { headers: Record<string, string> };
  t.equal(
    handshake.headers['x-ms-client-principal-id'],
    'dora',
    "the caller's identity on the upstream handshake",
  );
  t.equal(handshake.headers.authorization, `Bearer ${token}`, "the caller's own token, as on any request");
  t.equal(await open('not-a-token'), 401, 'an invalid token is refused before the upstream');
  t.equal(
    w.upstream.requests.filter((r) => r.upgrade).length,
    1,
    'only the valid upgrade reached the upstream',
  );
});
