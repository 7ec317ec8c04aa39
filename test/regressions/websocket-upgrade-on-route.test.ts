// A WebSocket upgrade on a route without WebSocket support gets a clear 400 and a closed socket (it used
// to get no answer: the socket stayed open and app.close() hung); a route with `websocket: true` proxies
// it with the route's bearer token. Signed in, and anonymous under a publicRoutes entry.
import { connect } from 'node:net';
import t from 'tap';
import WebSocket from 'ws';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp } from '../helpers/world.js';

interface UpgradeAnswer {
  status: number;
  head: string;
  body: string;
}

/** A raw upgrade; resolves once the server has answered and closed the connection. */
function upgrade(url: string, path: string, headers: Record<string, string> = {}): Promise<UpgradeAnswer> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    const chunks: Buffer[] = [];
    // A failure deadline, not a margin: before the fix nothing ever came back.
    socket.setTimeout(10_000, () =>
      socket.destroy(new Error(`upgrade ${path}: no answer, socket left open`)),
    );
    socket.on('error', reject);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const end = raw.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0),
        head: raw.slice(0, end),
        body: raw.slice(end + 4),
      });
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra.join('')}\r\n`,
    );
  });
}

/** Rejects if app.close() has not finished in 10 s (a failure deadline: it used to hang for good). */
function closeOrFail(close: () => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('app.close() held by an upgraded socket')), 10_000);
  });
  return Promise.race([close(), deadline]).finally(() => clearTimeout(timer));
}

t.test('WebSocket upgrades on routes', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read', 'api://live/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const api = await startUpstream(); // the routes' target, a WebSocket echo server too
  t.teardown(() => api.close());
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      routes: [
        { name: 'orders', path: '/api/orders', target: api.url, scopes: ['api://orders/read'] },
        {
          name: 'live',
          path: '/api/live',
          target: api.url,
          scopes: ['api://live/read'],
          websocket: true,
        },
      ],
      publicRoutes: [{ path: '/api/orders/pub/*' }, { path: '/api/live/pub/*' }],
    },
  });
  let closed = false;
  t.teardown(() => (closed ? undefined : aw.close()));
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/.auth/login`, { login: 'alice' })).status, 200);
  const cookie = browser.cookieHeader(`${aw.url}/`) as string;
  const upgrades = () => api.requests.filter((r) => r.upgrade).length;

  await t.test('a route without websocket: 400, a short body, the socket closed', async (t) => {
    for (const [what, path, headers] of [
      ['signed in', '/api/orders/ws', { Cookie: cookie, Origin: aw.url }],
      ['anonymous under publicRoutes', '/api/orders/pub/ws', {}],
      ['signed in under publicRoutes', '/api/orders/pub/ws', { Cookie: cookie }],
    ] as const) {
      const res = await upgrade(aw.url, path, headers);
      t.equal(res.status, 400, `${what}: 400`);
      t.match(res.head, /\r\nconnection: close/i, `${what}: Connection: close`);
      t.match(res.body, /does not accept WebSocket/, `${what}: says why`);
      t.ok(res.body.length < 300, `${what}: short body`);
      t.notMatch(res.body, /handleUpgrade|at .*\.js/, `${what}: no internal detail`);
    }
    t.equal(upgrades(), 0, 'nothing reached the route target');
    for (let i = 0; i < 20; i++) await upgrade(aw.url, '/api/orders/ws', { Cookie: cookie });
  });

  await t.test('a route with websocket: true proxies the upgrade with its token', async (t) => {
    const ws = new WebSocket(`${aw.url.replace('http', 'ws')}/api/live/feed?x=1`, {
      headers: { cookie, authorization: 'Bearer client-supplied' },
      origin: aw.url,
    });
    const first = await new Promise<{ url: string; headers: Record<string, string> }>((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(String(d))));
      ws.once('error', reject);
    });
    t.equal(first.url, '/feed?x=1', 'the route prefix is replaced by the target base');
    t.match(first.headers.authorization, /^Bearer ey/, 'the route’s token, not the client’s');
    t.notOk((first.headers.cookie ?? '').includes('authward'), 'authward’s cookies stay behind');
    ws.send('ping');
    const echo = await new Promise((resolve) => ws.once('message', (d) => resolve(String(d))));
    t.equal(echo, 'ping');
    ws.close();
    await new Promise((resolve) => ws.once('close', resolve));

    const anon = new WebSocket(`${aw.url.replace('http', 'ws')}/api/live/pub/feed`);
    const anonFirst = await new Promise<{ headers: Record<string, string> }>((resolve, reject) => {
      anon.once('message', (d) => resolve(JSON.parse(String(d))));
      anon.once('error', reject);
    });
    t.equal(anonFirst.headers.authorization, undefined, 'anonymous under publicRoutes: no token');
    anon.close();
    await new Promise((resolve) => anon.once('close', resolve));
    t.equal(upgrades(), 2, 'both reached the route target');
  });

  await t.test('no upgrade holds the shutdown', async (t) => {
    const before = upgrades();
    t.equal((await upgrade(aw.url, '/api/orders/ws', { Cookie: cookie })).status, 400);
    closed = true;
    await closeOrFail(aw.close);
    t.equal(upgrades(), before);
  });
});
