// Header rules on the way through: what is kept intact, what authward sets, what never reaches the upstream.
import t from 'tap';
import { request } from 'undici';
import type { EchoBody } from '../helpers/upstream.js';
import { dechunk, rawSocket, type SocketResponse, startWorld } from '../helpers/world.js';

const proxy = await startWorld(t, { idp: false, public: true });
const { upstream } = proxy;

/** Sends exact request bytes (header lines joined with CRLF) and returns the upstream's echo. */
async function echoOf(port: number, lines: string[]): Promise<{ res: SocketResponse; echo: EchoBody }> {
  const res = await rawSocket(port, `${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`);
  return { res, echo: JSON.parse(dechunk(res)) as EchoBody };
}

/** Header names the upstream received, lower-cased, in order. */
const namesOf = (echo: EchoBody) => echo.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());

t.test('the query string arrives byte for byte, repeated keys included', async (t) => {
  const target = '/q?a=1&a=2&b=x%20y&c=&d=%2F%3F&e=caf%C3%A9&a=3';
  const { echo } = await echoOf(proxy.port, [`GET ${target} HTTP/1.1`, 'Host: app.example']);
  t.equal(echo.url, target);
  t.same(echo.query.a, ['1', '2', '3']);
});

t.test('repeated request headers arrive intact', async (t) => {
  const { echo } = await echoOf(proxy.port, [
    'GET /h HTTP/1.1',
    'Host: app.example',
    'X-Multi: one',
    'X-Multi: two',
    'Accept: text/plain',
    'Accept: application/json',
    'Cookie: a=1',
    'Cookie: b=2',
  ]);
  t.equal(echo.headers['x-multi'], 'one, two');
  t.equal(echo.headers.accept, 'text/plain, application/json');
  t.equal(echo.headers.cookie, 'a=1; b=2');
});

t.test('repeated response headers (two Set-Cookie lines) arrive as two lines', async (t) => {
  const { res } = await echoOf(proxy.port, ['GET /set-cookies HTTP/1.1', 'Host: app.example']);
  t.same(
    res.headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v),
    ['a=1', 'b=2'],
  );
  const viaUndici = await request(`${proxy.url}/set-cookies`);
  await viaUndici.body.dump();
  t.same(viaUndici.headers['set-cookie'], ['a=1', 'b=2']);
});

t.test('X-Forwarded-* come from the socket; client copies are ignored (trustProxy false)', async (t) => {
  const { echo } = await echoOf(proxy.port, [
    'GET /xf HTTP/1.1',
    'Host: app.example:8443',
    'X-Forwarded-For: 203.0.113.9',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: evil.example',
    'X-Real-IP: 203.0.113.9',
    'Forwarded: for=203.0.113.9;proto=https',
  ]);
  t.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(echo.headers['x-forwarded-proto'], 'http');
  t.equal(echo.headers['x-forwarded-host'], new URL(proxy.config.publicUrl).host, 'publicUrl’s, not Host');
  t.notOk('x-real-ip' in echo.headers);
  t.notOk('forwarded' in echo.headers);
  t.equal(namesOf(echo).filter((n) => n === 'x-forwarded-for').length, 1, 'exactly one X-Forwarded-For');
});

t.test('with trustProxy true the client’s X-Forwarded-* are trusted and the socket appended', async (t) => {
  const trusting = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: upstream.url },
    config: { trustProxy: true },
  });
  const { echo } = await echoOf(trusting.port, [
    'GET /xf HTTP/1.1',
    'Host: internal:8080',
    'X-Forwarded-For: 203.0.113.9, 198.51.100.7',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: app.example',
  ]);
  t.equal(echo.headers['x-forwarded-for'], '203.0.113.9, 198.51.100.7, 127.0.0.1');
  t.equal(echo.headers['x-forwarded-proto'], 'https');
  t.equal(echo.headers['x-forwarded-host'], 'app.example');
});

t.test('hop-by-hop request headers are dropped', async (t) => {
  const { echo } = await echoOf(proxy.port, [
    'GET /hop HTTP/1.1',
    'Host: app.example',
    'Keep-Alive: timeout=5',
    'TE: trailers',
    'Proxy-Authorization: Basic dXNlcjpwYXNz',
    'Proxy-Connection: keep-alive',
    'Upgrade: h2c',
    'Trailer: X-Checksum',
    'X-Kept: yes',
  ]);
  for (const name of ['keep-alive', 'te', 'proxy-authorization', 'proxy-connection', 'upgrade', 'trailer']) {
    t.notOk(namesOf(echo).includes(name), `${name} dropped`);
  }
  t.notOk(JSON.stringify(echo).includes('dXNlcjpwYXNz'), 'the proxy credentials never reach the upstream');
  t.equal(echo.headers['x-kept'], 'yes');
});

t.test('a header named in Connection is removed', async (t) => {
  const { res, echo } = await echoOf(proxy.port, [
    'GET /conn HTTP/1.1',
    'Host: app.example',
    'X-Hop-Secret: v',
    'X-Kept: yes',
    'Connection: X-Hop-Secret',
  ]);
  t.equal(res.status, 200);
  t.notOk(namesOf(echo).includes('x-hop-secret'));
  t.equal(echo.headers['x-kept'], 'yes');
});

t.test('a client Connection header cannot strip what authward adds', async (t) => {
  const { echo } = await echoOf(proxy.port, [
    'GET /conn HTTP/1.1',
    'Host: app.example',
    'Connection: X-Forwarded-For, X-Request-Id, X-Forwarded-Proto',
  ]);
  t.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(echo.headers['x-forwarded-proto'], 'http');
  t.ok(echo.headers['x-request-id']);
});

t.test('hop-by-hop response headers from the upstream are not passed to the client', async (t) => {
  const res = await rawSocket(
    proxy.port,
    'GET /set-header?keep-alive=timeout%3D99&proxy-authenticate=Basic&x-upstream-hop=1&connection=x-upstream-hop&x-kept=1 HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n',
  );
  t.equal(res.status, 200);
  const header = (name: string) => res.headers.filter(([n]) => n === name).map(([, v]) => v);
  t.same(header('keep-alive'), [], "the upstream's keep-alive is not copied");
  t.same(header('proxy-authenticate'), []);
  t.same(header('x-upstream-hop'), [], 'a header the upstream named in Connection is removed');
  t.same(header('connection'), ['close'], "the client's Connection: close is honoured");
  t.same(header('x-kept'), ['1']);
});

t.test('identity headers sent by the client never reach the upstream', async (t) => {
  const forged = [
    'X-MS-CLIENT-PRINCIPAL: eyJmb3JnZWQiOnRydWV9',
    'X-Ms-Client-Principal-Id: forged',
    'x-ms-client-principal-name: forged',
    'X-MS-CLIENT-PRINCIPAL-IDP: forged',
    'X-MS-TOKEN-AAD-ACCESS-TOKEN: forged',
    'x-forwarded-user: forged',
    'X-Forwarded-Email: forged',
    'X_Forwarded_Email: forged',
    'X_MS_CLIENT_PRINCIPAL_NAME: forged',
    'x-FORWARDED-groups: forged',
    'X-Forwarded-Preferred-Username: forged',
    'X-Auth-Request-User: forged',
    'X-Auth-Request-Email: forged',
    'X-Forwarded-Access-Token: forged',
    'X-Authward-User: forged',
    'X-Original-URL: /admin',
    'X-Rewrite-URL: /admin',
  ];
  for (const path of ['/public/page', '/']) {
    const { res, echo } = await echoOf(proxy.port, [`GET ${path} HTTP/1.1`, 'Host: app.example', ...forged]);
    t.equal(res.status, 200, `${path}: served without sign-in (public)`);
    t.notOk(JSON.stringify(echo.rawHeaders).includes('forged'), `${path}: no forged header arrives`, {
      rawHeaders: echo.rawHeaders,
    });
    t.notOk(JSON.stringify(echo.rawHeaders).includes('/admin'), `${path}: no URL-override header arrives`);
  }
});

t.test('the client’s own Authorization passes (only proxy credentials are hop-by-hop)', async (t) => {
  const { echo } = await echoOf(proxy.port, [
    'GET /auth HTTP/1.1',
    'Host: app.example',
    'Authorization: Bearer app-token',
    'Proxy_Authorization: Basic dW5kZXJzY29yZQ==',
  ]);
  t.equal(echo.headers.authorization, 'Bearer app-token');
  t.notOk(
    JSON.stringify(echo.rawHeaders).includes('dW5kZXJzY29yZQ'),
    'the underscore spelling is dropped too',
  );
});

t.test('authward’s own cookies are removed, the application’s kept', async (t) => {
  const { echo } = await echoOf(proxy.port, [
    'GET /cookies HTTP/1.1',
    'Host: app.example',
    'Cookie: app=1; authward=sealed-session; authward-tx-abc=state; other=2',
  ]);
  t.equal(echo.headers.cookie, 'app=1; other=2');
});
