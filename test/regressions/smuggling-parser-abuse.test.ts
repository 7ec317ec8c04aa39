// Request smuggling and parser abuse over raw sockets: conflicting framing, obs-fold, header floods,
// oversized cookies. Each is refused (400/431) on a connection that then closes, the upstream never sees
// a smuggled request, and a normal request on a fresh connection still works.
import t, { type Test } from 'tap';
import type { EchoBody } from '../helpers/upstream.js';
import { dechunk, rawSocket, startWorld } from '../helpers/world.js';

const proxy = await startWorld(t, { idp: false, public: true });
const { upstream } = proxy;

const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: app.example\r\n\r\n';
const smuggledSeen = () => upstream.requests.filter((r) => r.url.includes('smuggled')).length;

/** A normal request on a fresh connection: 200, and the echo is of this very request. */
async function stillWorks(t: Test, what: string) {
  const path = `/after?attack=${encodeURIComponent(what)}`;
  const res = await rawSocket(
    proxy.port,
    `GET ${path} HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n`,
  );
  t.equal(res.status, 200, `${what}: a normal request afterwards works`);
  t.equal((JSON.parse(dechunk(res)) as EchoBody).url, path, `${what}: and gets its own answer`);
}

// Each of these is ambiguous framing or malformed syntax: a front proxy and a back end could read it
// differently, so it must never be forwarded.
const ATTACKS: [string, string][] = [
  [
    'CL.TE: Content-Length and Transfer-Encoding',
    `POST /a HTTP/1.1\r\nHost: app.example\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'TE.CL: Transfer-Encoding first',
    `POST /a HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`,
  ],
  [
    'two different Content-Lengths',
    `POST /a HTTP/1.1\r\nHost: app.example\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n${SMUGGLED}`,
  ],
  [
    'two equal Content-Lengths',
    'POST /a HTTP/1.1\r\nHost: app.example\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd',
  ],
  ['a Content-Length list', 'POST /a HTTP/1.1\r\nHost: app.example\r\nContent-Length: 4, 4\r\n\r\nabcd'],
  [
    'a signed Content-Length',
    `POST /a HTTP/1.1\r\nHost: app.example\r\nContent-Length: +44\r\n\r\n${SMUGGLED}`,
  ],
  [
    'Transfer-Encoding not ending in chunked',
    `POST /a HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'an unknown transfer coding',
    `POST /a HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'a space before the colon',
    `POST /a HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  [
    'Transfer-Encoding in an obs-fold',
    `POST /a HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n${SMUGGLED}`,
  ],
  ['an obs-fold header line', 'GET /a HTTP/1.1\r\nHost: app.example\r\nX-Folded: one\r\n two\r\n\r\n'],
  [
    'a chunk size that overflows',
    'POST /a HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nx\r\n0\r\n\r\n',
  ],
  ['a NUL in a header value', 'GET /a HTTP/1.1\r\nHost: app.example\r\nX-Nul: a\u0000b\r\n\r\n'],
  ['a bare CR in a header value', 'GET /a HTTP/1.1\r\nHost: app.example\r\nX-Cr: a\rb\r\n\r\n'],
  ['no Host at all', 'GET /a HTTP/1.1\r\n\r\n'],
  ['two Host headers', 'GET /a HTTP/1.1\r\nHost: app.example\r\nhost: evil.example\r\n\r\n'],
  ['absolute-form to another host', 'GET http://evil.example/a HTTP/1.1\r\nHost: app.example\r\n\r\n'],
];

t.test('ambiguous framing and malformed requests are refused, nothing is smuggled', async (t) => {
  for (const [what, request] of ATTACKS) {
    const before = upstream.requests.length;
    // rawSocket resolves when the server closes the connection: a refused request must end it.
    const res = await rawSocket(proxy.port, request);
    t.equal(res.status, 400, `${what}: 400`);
    t.equal(upstream.requests.length, before, `${what}: nothing reached the upstream`);
    await stillWorks(t, what);
  }
  t.equal(smuggledSeen(), 0, 'the upstream never saw a smuggled request');
});

t.test('a body that looks like a request is only a body (control)', async (t) => {
  const before = upstream.requests.length;
  const body = SMUGGLED;
  const res = await rawSocket(
    proxy.port,
    `POST /upload HTTP/1.1\r\nHost: app.example\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
  t.equal(res.status, 200);
  t.equal(upstream.requests.length, before + 1, 'exactly one request upstream');
  t.equal((JSON.parse(dechunk(res)) as EchoBody).bodyLength, body.length, 'carrying the bytes as its body');
  t.equal(smuggledSeen(), 0);
});

t.test('header floods: too many lines, too many bytes, a 40 KB Cookie → 431', async (t) => {
  const lines = (n: number) => Array.from({ length: n }, (_, i) => `x-${i % 10}: 1\r\n`).join('');
  const cases: [string, string][] = [
    ['300 header lines', `GET /a HTTP/1.1\r\nHost: app.example\r\n${lines(300)}\r\n`],
    // Past 2000 lines Node used to drop the rest silently: a second Host hidden there went unseen.
    [
      '2100 lines hiding a second Host',
      `GET /a HTTP/1.1\r\nHost: app.example\r\n${lines(2100)}Host: evil\r\n\r\n`,
    ],
    ['a 40 KB Cookie', `GET /a HTTP/1.1\r\nHost: app.example\r\nCookie: a=${'x'.repeat(40_000)}\r\n\r\n`],
    ['20 KB of headers', `GET /a HTTP/1.1\r\nHost: app.example\r\nX-Big: ${'y'.repeat(20_000)}\r\n\r\n`],
  ];
  for (const [what, request] of cases) {
    const before = upstream.requests.length;
    const res = await rawSocket(proxy.port, request);
    t.equal(res.status, 431, `${what}: 431`);
    t.equal(upstream.requests.length, before, `${what}: nothing reached the upstream`);
    await stillWorks(t, what);
  }
  // Control: a browser-sized request with 40 headers passes.
  const res = await rawSocket(
    proxy.port,
    `GET /a HTTP/1.1\r\nHost: app.example\r\n${lines(40)}Connection: close\r\n\r\n`,
  );
  t.equal(res.status, 200, '40 header lines are fine');
});

t.test('TRACE and CONNECT are refused with 405, before any session check', async (t) => {
  const before = upstream.requests.length;
  const trace = await rawSocket(
    proxy.port,
    'TRACE /a HTTP/1.1\r\nHost: app.example\r\nCookie: authward=x\r\nConnection: close\r\n\r\n',
  );
  t.equal(trace.status, 405, 'TRACE: 405');
  t.ok(
    trace.headers.some(([n, v]) => n === 'allow' && !v.includes('TRACE')),
    'Allow names what is proxied',
  );
  t.notMatch(trace.body, /authward=x/, 'nothing of the request is echoed');
  const connect = await rawSocket(
    proxy.port,
    'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n',
  );
  t.equal(connect.status, 405, 'CONNECT: 405, no tunnel');
  t.equal(upstream.requests.length, before, 'the upstream saw neither');
  await stillWorks(t, 'TRACE/CONNECT');
});

t.test('after all of it, keep-alive requests get their own answers in order', async (t) => {
  // Three pipelined requests on one connection: a desynchronized connection would shift the answers.
  const paths = ['/one?n=1', '/two?n=2', '/three?n=3'];
  const res = await rawSocket(
    proxy.port,
    paths
      .map(
        (p, i) =>
          `GET ${p} HTTP/1.1\r\nHost: app.example\r\n${i === paths.length - 1 ? 'Connection: close\r\n' : ''}\r\n`,
      )
      .join(''),
  );
  const urls = [...res.raw.matchAll(/"url":"([^"]+)"/g)].map((m) => m[1]);
  t.same(urls, paths, 'each answer is for its own request');
  t.equal(smuggledSeen(), 0);
});
