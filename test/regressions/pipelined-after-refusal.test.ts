// After a refusal (400 with Connection: close), nothing else on that connection may reach the upstream:
// a request pipelined behind an absolute-form target or a doubled Host used to be forwarded (its answer
// was then thrown away with the connection).
import type { IncomingMessage } from 'node:http';
import t from 'tap';
import { rawSocket, startWorld } from '../helpers/world.js';

const proxy = await startWorld(t, { idp: false, public: true });
const { upstream } = proxy;

/** Resolves once the server is done with the request to `path` (it closed with the socket). */
function served(path: string, server = proxy.app.server): Promise<void> {
  return new Promise((resolve) => {
    const onRequest = (req: IncomingMessage) => {
      if (req.url !== path) return;
      server.off('request', onRequest);
      req.once('close', () => resolve());
    };
    server.on('request', onRequest);
  });
}

const REFUSED: [string, string][] = [
  [
    'an absolute-form target naming another host',
    'GET http://other.example/first HTTP/1.1\r\nHost: app.example\r\n\r\n',
  ],
  ['two Host headers', 'GET /first HTTP/1.1\r\nHost: app.example\r\nHost: other.example\r\n\r\n'],
  ['a Host that is not host[:port]', 'GET /first HTTP/1.1\r\nHost: app.example/evil\r\n\r\n'],
];

t.test('a request pipelined behind a refused one never reaches the upstream', async (t) => {
  // A warm upstream connection: a forwarded request would be on the wire at once.
  t.equal(
    (await rawSocket(proxy.port, 'GET /warm HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n'))
      .status,
    200,
  );
  for (const [i, [what, first]] of REFUSED.entries()) {
    const path = `/pipelined-${i}`;
    const done = served(path);
    const res = await rawSocket(proxy.port, `${first}GET ${path} HTTP/1.1\r\nHost: app.example\r\n\r\n`);
    t.equal(res.status, 400, `${what}: 400`);
    t.equal(
      (res.raw.match(/HTTP\/1\.1 /g) ?? []).length,
      1,
      `${what}: one answer, then the connection closed`,
    );
    await done; // authward is done with the pipelined request
    // Whatever authward forwarded reached the upstream before this marker's answer came back.
    const marker = await rawSocket(
      proxy.port,
      `GET /marker-${i} HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n`,
    );
    t.equal(marker.status, 200);
    t.notOk(
      upstream.requests.some((r) => r.url === path),
      `${what}: the pipelined request was not forwarded`,
    );
  }
});

t.test('a request pipelined behind an upload answered early never reaches the upstream', async (t) => {
  // 413 before the body is read: the answer closes the connection; the body and a request behind it are
  // already in the socket's buffer. (A guard: this one held before the fix too.)
  const limited = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: upstream.url },
    config: { upstream: { bodyLimit: 4 } },
  });
  const path = '/pipelined-after-413';
  const done = served(path, limited.app.server);
  const res = await rawSocket(
    limited.port,
    `POST /upload HTTP/1.1\r\nHost: app.example\r\nContent-Length: 10\r\n\r\n0123456789GET ${path} HTTP/1.1\r\nHost: app.example\r\n\r\n`,
  );
  t.equal(res.status, 413, '413');
  t.equal((res.raw.match(/HTTP\/1\.1 /g) ?? []).length, 1, 'one answer, then the connection closed');
  await done;
  const marker = await rawSocket(
    limited.port,
    'GET /marker-413 HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n',
  );
  t.equal(marker.status, 200);
  t.notOk(
    upstream.requests.some((r) => r.url === path),
    'the pipelined request was not forwarded',
  );
});
