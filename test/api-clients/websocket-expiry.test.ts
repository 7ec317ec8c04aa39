// An API client's WebSocket lives as long as its bearer token: closed at the token's `exp` plus
// identity.clockSkew (the instant a new upgrade with that token would be refused), never before; a
// socket whose token is still good stays open. Waits on the close event (30 s hang guard only).
import t from 'tap';
import WebSocket from 'ws';
import { apiWorld, OWN_API, OWN_SCOPE } from './harness.js';

const HANG_GUARD_MS = 30_000;

t.test('API-client sockets close when their token expires', async (t) => {
  const skew = 1;
  const w = await apiWorld(t, 'oidc', { overrides: { identity: { clockSkew: skew } } });
  const port = new URL(w.aw.url).port;
  const open = (bearer: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`, {
        headers: { authorization: `Bearer ${bearer}` },
      });
      t.teardown(() => ws.terminate());
      ws.once('message', () => resolve(ws)); // the upstream's handshake echo: proxied end to end
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
  const closed = (ws: WebSocket) =>
    new Promise<number>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('socket not closed (hang guard)')), HANG_GUARD_MS);
      ws.once('close', () => {
        clearTimeout(guard);
        resolve(Date.now());
      });
    });

  // Long enough for three upgrades on a loaded machine (refused once exp + skew has passed), short to wait.
  const exp = Math.floor(Date.now() / 1000) + 5;
  const claims = { aud: OWN_API, scope: OWN_SCOPE };
  const short = await w.grants.mint({ ...claims, sub: 'dora', exp });
  const long = await w.grants.mint({ ...claims, sub: 'erin' });
  const first = await open(short);
  const second = await open(short); // the same token again: from the verified-token cache
  const lasting = await open(long);
  t.equal(w.aw.app.liveSockets.size, 3, 'all three sockets are tracked');

  const [a, b] = await Promise.all([closed(first), closed(second)]);
  const end = (exp + skew) * 1000;
  t.ok(a >= end, `the first socket closed at exp + clockSkew, not before (${a - end} ms after)`);
  t.ok(b >= end, 'so did the second socket on the same token');
  t.equal(lasting.readyState, WebSocket.OPEN, 'the socket of a token still good stays open');
  t.equal(w.aw.app.liveSockets.size, 1, 'only that socket is tracked still');
  const line = w.logs.find((l) => l.includes('"websocket_closed"'));
  t.match(line, /"reason":"token expired"/, 'the close is logged with its reason');
  t.notMatch(w.logs.join('\n'), short, 'the token is in no log line');
  lasting.close();
});
