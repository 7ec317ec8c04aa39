// WebSocket hijacking (CSWSH) and sockets outliving their session: a cross-origin upgrade carrying the
// session cookie is refused (403, never 101), and a proxied socket closes when its session ends, at once
// on the replica that ended it, within session.revocationCheckInterval elsewhere or at the lifetime.
import { once } from 'node:events';
import { connect } from 'node:net';
import t from 'tap';
import WebSocket from 'ws';
import { Browser, signIn } from '../helpers/browser.js';
import { newKey } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, KeyedStore, rawRequest, startApp, type TestApp } from '../helpers/world.js';

/** A raw upgrade; resolves with the status line's code (the socket is then closed). */
function upgrade(url: string, headers: Record<string, string>): Promise<number> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port) });
    let head = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('upgrade: no answer')));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(
      `GET /socket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra.join('')}\r\n`,
    );
  });
}

/** An open WebSocket through authward (first message read), and a promise of its close. */
async function open(app: TestApp, cookie: string) {
  const ws = new WebSocket(`${app.url.replace('http', 'ws')}/socket`, {
    headers: { cookie },
    origin: app.url,
  });
  ws.on('error', () => undefined);
  const closed = once(ws, 'close').then(() => Date.now());
  await once(ws, 'message');
  return { ws, closed };
}

t.test('WebSocket upgrades with a session', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const store = new KeyedStore();
  const keys = [newKey()];
  // Each replica's log says why it closed a socket (websocket_closed's reason): what closed it is judged
  // by that, not by how soon it closed.
  const logs = new Map<TestApp, Record<string, unknown>[]>();
  const replica = async (session: Record<string, unknown> = {}) => {
    const { logger, lines } = captureLogger('info');
    const app = await startApp({
      idp,
      upstreamUrl: upstream.url,
      store,
      logger,
      overrides: { session: { keys, revocationCheckInterval: 1, ...session } },
    });
    logs.set(app, lines);
    return app;
  };
  const closeReasons = (app: TestApp) =>
    (logs.get(app) ?? []).filter((l) => l.event === 'websocket_closed').map((l) => l.reason);
  // Here the sweep (every 30 s) cannot be what closes a socket within the test.
  const aw = await replica({ revocationCheckInterval: 30 });
  t.teardown(() => aw.close());
  const browsers: Browser[] = [];
  t.teardown(() => Promise.all(browsers.map((b) => b.close())));
  const cookieFor = async (app: TestApp) => {
    const b = new Browser({ ca: idp.caPem });
    browsers.push(b);
    t.equal((await signIn(b, `${app.url}/.auth/login`, { login: 'alice' })).status, 200);
    return b.cookieHeader(`${app.url}/`) as string;
  };
  const upgrades = () => upstream.requests.filter((r) => r.upgrade).length;

  await t.test('cross-origin upgrades are refused, same-origin ones pass', async (t) => {
    const cookie = await cookieFor(aw);
    const before = upgrades();
    const { port } = new URL(aw.url);
    for (const origin of [
      'https://evil.example',
      'null',
      `http://127.0.0.1:${Number(port) + 1}`,
      `https://127.0.0.1:${port}`,
      `http://localhost:${port}`,
      `${aw.url}.evil.example`,
    ]) {
      t.equal(await upgrade(aw.url, { Cookie: cookie, Origin: origin }), 403, `Origin ${origin}: 403`);
    }
    t.equal(upgrades(), before, 'none reached the upstream');
    t.equal(await upgrade(aw.url, { Cookie: cookie, Origin: aw.url }), 101, 'same origin: 101');
    t.equal(await upgrade(aw.url, { Cookie: cookie }), 101, 'no Origin (not a browser): 101');
  });

  await t.test('sign-out on this replica closes the session’s sockets at once', async (t) => {
    const cookie = await cookieFor(aw);
    const other = await cookieFor(aw); // another session of the same user stays connected
    const mine = await open(aw, cookie);
    const theirs = await open(aw, other);
    t.equal(aw.app.liveSockets.size, 2);
    const res = await rawRequest(aw.url, '/.auth/logout', {
      method: 'POST',
      headers: { cookie, origin: aw.url },
      body: '',
    });
    t.equal(res.status, 302, 'signed out');
    const started = Date.now();
    const ms = (await mine.closed) - started;
    t.ok(ms < 15_000, `closed after ${ms} ms: by the sign-out, not the 30 s sweep`);
    t.same(closeReasons(aw), ['session ended'], 'closed because the session ended here');
    t.equal(theirs.ws.readyState, WebSocket.OPEN, 'the other session’s socket is untouched');
    theirs.ws.send('still here');
    const [echo] = await once(theirs.ws, 'message');
    t.equal(String(echo), 'still here');
    theirs.ws.close();
    await theirs.closed;
  });

  await t.test('sign-out on another replica closes it within revocationCheckInterval', async (t) => {
    const other = await replica();
    t.teardown(() => other.close());
    const cookie = await cookieFor(aw);
    const socket = await open(other, cookie);
    const res = await rawRequest(aw.url, '/.auth/logout', {
      method: 'POST',
      headers: { cookie, origin: aw.url },
      body: '',
    });
    t.equal(res.status, 302, 'signed out');
    const started = Date.now();
    const closedAt = await socket.closed;
    t.same(closeReasons(other), ['session revoked'], 'closed by the sweep, which found the session gone');
    t.ok(closedAt - started < 30_000, `closed after ${closedAt - started} ms (interval 1 s)`);
    t.equal(other.app.liveSockets.size, 0);
  });

  await t.test('the session’s absolute lifetime ends its sockets', async (t) => {
    const short = await replica({ lifetime: 2 });
    t.teardown(() => short.close());
    const cookie = await cookieFor(short);
    const started = Date.now();
    const socket = await open(short, cookie);
    const closedAt = await socket.closed;
    const ms = closedAt - started;
    t.same(closeReasons(short), ['session lifetime over'], 'closed because the lifetime was over');
    t.ok(ms < 30_000, `closed ${ms} ms after opening (lifetime 2 s, interval 1 s)`);
  });
});
