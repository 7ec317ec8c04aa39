// A route target (maybe a third party) gets an allow-list of end-to-end request headers and no cookies:
// the application's own credentials (`app_session`, `X-Api-Key`, `X-CSRF-Token`) stay with it, unless a
// route widens the list (`forwardHeaders`, `forwardCookies`). The default upstream still gets them all.
import t from 'tap';
import { ROUTE_REQUEST_HEADERS } from '../../src/proxy/headers.js';
import { type EchoBody, startUpstream } from '../helpers/upstream.js';
import { dechunk, rawSocket, startWorld } from '../helpers/world.js';

const route = (name: string, path: string, target: string, extra: Record<string, unknown> = {}) => ({
  name,
  path,
  target,
  scopes: ['api://x/read'],
  ...extra,
});

const CREDENTIALS = [
  'Cookie: authward=sealed; authward-tx-1=tx; app_session=s3cret; theme=dark',
  'X-Api-Key: key-s3cret',
  'X-CSRF-Token: csrf-s3cret',
  'X-Custom-Thing: custom-s3cret',
  'Referer: http://127.0.0.1/page?code=s3cret',
];
const END_TO_END = [
  'Accept: application/json',
  'Accept-Language: fr',
  'If-None-Match: "v1"',
  'Range: bytes=0-9',
  'User-Agent: test-agent',
  'Origin: http://127.0.0.1',
  'traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  'Cache-Control: no-cache',
];

t.test('routes get the allow-list only; the default upstream everything', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const target = await startUpstream();
  t.teardown(() => target.close());
  // A route with the defaults (first, so the leak shows even where the widening options are unknown).
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: upstream.url },
    config: { routes: [route('plain', '/plain', target.url)] },
  });
  let port = proxy.port;
  const send = async (path: string) => {
    const lines = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...CREDENTIALS, ...END_TO_END];
    const res = await rawSocket(port, `${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`);
    t.equal(res.status, 200, `${path}: 200`);
    return JSON.parse(dechunk(res)) as EchoBody;
  };
  const names = (echo: EchoBody) => echo.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());

  const plain = await send('/plain/x');
  t.notMatch(
    JSON.stringify(plain.rawHeaders),
    /s3cret/,
    'no credential of the application reaches the route',
  );
  t.equal(plain.headers.cookie, undefined, 'no Cookie header at all');
  for (const n of ['x-api-key', 'x-csrf-token', 'x-custom-thing', 'referer']) {
    t.notOk(names(plain).includes(n), `${n} not forwarded`);
  }
  for (const line of END_TO_END) {
    const [name = '', value = ''] = line.split(': ');
    t.equal(plain.headers[name.toLowerCase()], value, `${name} forwarded`);
  }
  const allowed = new Set([...ROUTE_REQUEST_HEADERS, 'host', 'x-forwarded-for', 'x-forwarded-proto']);
  for (const n of ['x-forwarded-host', 'x-request-id', 'connection']) allowed.add(n); // set by authward, undici
  t.same(
    names(plain).filter((n) => !allowed.has(n)),
    [],
    'nothing outside the allow-list (and what authward sets)',
  );

  const app = await send('/page');
  t.equal(app.headers.cookie, 'app_session=s3cret; theme=dark', "the default upstream: all but authward's");
  t.equal(app.headers['x-api-key'], 'key-s3cret', 'and every other header');
  t.equal(app.headers['x-custom-thing'], 'custom-s3cret');

  // Routes that widen the list knowingly.
  port = (
    await startWorld(t, {
      idp: false,
      public: true,
      upstream: { url: upstream.url },
      config: {
        routes: [
          route('keyed', '/keyed', target.url, {
            forwardHeaders: ['X-Api-Key', 'x-csrf-token'],
            forwardCookies: ['app_session'],
          }),
          route('cookies', '/cookies', target.url, { forwardCookies: true }),
        ],
      },
    })
  ).port;
  const keyed = await send('/keyed/x');
  t.equal(keyed.headers['x-api-key'], 'key-s3cret', 'forwardHeaders: named header passes');
  t.equal(keyed.headers['x-csrf-token'], 'csrf-s3cret', 'in any case');
  t.equal(keyed.headers['x-custom-thing'], undefined, 'others still do not');
  t.equal(keyed.headers.cookie, 'app_session=s3cret', 'forwardCookies: only the named cookie');

  const cookies = await send('/cookies/x');
  t.equal(
    cookies.headers.cookie,
    'app_session=s3cret; theme=dark',
    "forwardCookies: true: all but authward's",
  );
});
