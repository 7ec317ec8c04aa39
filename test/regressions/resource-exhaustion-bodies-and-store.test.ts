// Resource exhaustion: an anonymous upload is answered 401 without being read (the connection closes);
// upstream.bodyLimit and routes[].bodyLimit answer 413 for a declared length and cut a chunked body;
// anonymous requests of every kind never touch the token store.
import { connect } from 'node:net';
import t from 'tap';
import WebSocket from 'ws';
import { MemoryStore } from '../../src/token-cache/memory-store.js';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { dechunk, rawSocket, startApp } from '../helpers/world.js';

/** A MemoryStore that counts every operation. */
class CountingStore extends MemoryStore {
  ops = 0;
  constructor() {
    super({ maxEntries: 1000 });
  }
  override async get(key: string) {
    this.ops++;
    return super.get(key);
  }
  override async set(key: string, value: Buffer, ttl: number) {
    this.ops++;
    return super.set(key, value, ttl);
  }
  override async del(key: string) {
    this.ops++;
    return super.del(key);
  }
  override async tryLock(key: string, ttlMs: number) {
    this.ops++;
    return super.tryLock(key, ttlMs);
  }
}

/**
 * Sends `head`, then body bytes as fast as the connection takes them, up to `total`. Resolves with the
 * status answered, the bytes written and when the server closed the connection (or gave up at 60 s:
 * the server has no timer of its own that would close it sooner, so `closed` means the 401 path closed it).
 */
function upload(port: number, head: string, total: number, chunked = false) {
  return new Promise<{ status: number; written: number; ms: number; closed: boolean }>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const started = Date.now();
    let answer = '';
    let written = 0;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(answer.split(' ')[1]), written, ms: Date.now() - started, closed });
    };
    const timer = setTimeout(() => finish(false), 60_000);
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    socket.on('error', () => undefined); // EPIPE/ECONNRESET once the server closes: expected
    socket.on('close', () => finish(true));
    const block = Buffer.alloc(64 * 1024, 97);
    const frame = chunked ? Buffer.concat([Buffer.from('10000\r\n'), block, Buffer.from('\r\n')]) : block;
    const pump = () => {
      while (!done && !socket.destroyed && written < total) {
        written += block.length;
        if (!socket.write(frame)) return void socket.once('drain', pump);
      }
    };
    socket.write(head, pump);
  });
}

t.test('bodies and the token store', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const orders = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => orders.close());
  const store = new CountingStore();
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    store,
    overrides: {
      upstream: { bodyLimit: 1024 },
      routes: [
        {
          name: 'orders',
          path: '/orders',
          target: orders.url,
          scopes: ['api://orders/read'],
          bodyLimit: 100,
        },
      ],
      publicRoutes: [{ path: '/public/*' }],
    },
  });
  t.teardown(() => aw.close());
  const port = Number(new URL(aw.url).port);

  await t.test('anonymous requests never touch the token store', async (t) => {
    const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
      rawSocket(
        port,
        `${method} ${path} HTTP/1.1\r\nHost: a\r\n${Object.entries(headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}Connection: close\r\n\r\n`,
      );
    const forged = Buffer.alloc(80, 7).toString('base64');
    const statuses = [
      await get('/page', { accept: 'text/html', 'sec-fetch-mode': 'navigate' }),
      await get('/api/x', { accept: 'application/json' }),
      await get('/api/x', { cookie: 'authward=garbage' }),
      await get('/api/x', { cookie: `authward=${encodeURIComponent(`${forged};${forged.slice(0, 32)}`)}` }),
      await get('/orders/x', { accept: 'application/json' }),
      await get('/public/x'),
      await get('/.auth/login'),
      await get('/.auth/login/aad/callback?code=x&state=AAAAAAAAAAAA.x'),
      await get('/.auth/me'),
      await get('/.auth/logout', { origin: aw.url }, 'POST'),
      await get('/.auth/logout', { 'sec-fetch-site': 'none' }),
      await get('/healthz'),
      await get('/readyz'),
    ].map((r) => r.status);
    t.same(statuses, [302, 401, 401, 401, 401, 200, 302, 400, 401, 302, 302, 200, 200]);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`);
    const refused = await new Promise((r) =>
      ws.on('unexpected-response', (_q, res) => r(res.statusCode)).on('error', () => r(0)),
    );
    t.equal(refused, 401, 'an anonymous upgrade');
    t.equal(store.ops, 0, 'not one store operation');
  });

  await t.test('an anonymous upload is answered 401 without being read', async (t) => {
    const before = upstream.requests.length;
    const GB = 1024 ** 3;
    for (const chunked of [false, true]) {
      const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${GB}`;
      const res = await upload(
        port,
        `POST /upload HTTP/1.1\r\nHost: a\r\nContent-Type: application/octet-stream\r\n${framing}\r\n\r\n`,
        GB,
        chunked,
      );
      const what = chunked ? 'chunked' : 'Content-Length 1 GB';
      t.equal(res.status, 401, `${what}: 401`);
      t.ok(res.closed, `${what}: the server closed the connection (after ${res.ms} ms)`);
      t.ok(
        res.written < 256 * 1024 ** 2,
        `${what}: ${Math.round(res.written / 1024 ** 2)} MB of 1024 written`,
      );
    }
    t.equal(upstream.requests.length, before, 'the upstream saw none of it');
    t.equal(store.ops, 0, 'nor did the token store');
  });

  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  t.equal((await signIn(b, `${aw.url}/`, { login: 'alice' })).status, 200);
  t.ok(store.ops > 0, 'control: a sign-in does use the store');
  const cookie = b.cookieHeader(`${aw.url}/`) as string;
  const post = (path: string, body: string, chunked = false) =>
    rawSocket(
      port,
      `POST ${path} HTTP/1.1\r\nHost: a\r\nCookie: ${cookie}\r\nAccept: application/json\r\nContent-Type: application/octet-stream\r\n` +
        (chunked
          ? `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body
              .match(/.{1,512}/gs)
              ?.map((c) => `${c.length.toString(16)}\r\n${c}\r\n`)
              .join('')}0\r\n\r\n`
          : `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`),
    );

  await t.test('upstream.bodyLimit: 413 past it, declared or chunked', async (t) => {
    const before = upstream.requests.length;
    const declared = await post('/limited', 'x'.repeat(2048));
    t.equal(declared.status, 413, 'Content-Length 2048 > 1024: 413');
    t.match(JSON.parse(dechunk(declared)), { error: 'payload_too_large' });
    t.equal(upstream.requests.length, before, 'nothing forwarded');
    const chunked = await post('/limited-chunked', 'y'.repeat(4096), true);
    t.equal(chunked.status, 413, 'chunked 4096 > 1024: 413');
    t.notOk(
      upstream.requests.some((r) => r.url === '/limited-chunked' && !r.aborted),
      'the upstream never completed it',
    );
    // Slowly: the upstream is already receiving the body when it passes the limit.
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    socket.on('error', () => undefined);
    const closed = new Promise((r) => socket.on('close', r));
    const chunk = `${(800).toString(16)}\r\n${'s'.repeat(800)}\r\n`;
    socket.write(
      `POST /limited-slow HTTP/1.1\r\nHost: a\r\nCookie: ${cookie}\r\nAccept: application/json\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`,
    );
    while (!upstream.requests.some((r) => r.url === '/limited-slow'))
      await new Promise((r) => setTimeout(r, 10));
    const slow = upstream.requests.find((r) => r.url === '/limited-slow');
    socket.write(chunk); // 1600 bytes now: past 1024
    await closed;
    t.match(answer, /^HTTP\/1\.1 413 /, 'cut mid-body: 413');
    t.equal(await slow?.done, 'aborted', 'the upstream saw the request aborted, never completed');
    const exact = await post('/exact', 'z'.repeat(1024));
    t.equal(exact.status, 200, 'exactly the limit passes');
    t.equal(JSON.parse(dechunk(exact)).bodyLength, 1024);
    const small = await post('/small-chunked', 'w'.repeat(1000), true);
    t.equal(small.status, 200, 'a chunked body under the limit passes');
    t.equal(JSON.parse(dechunk(small)).bodyLength, 1000);
  });

  await t.test('routes[].bodyLimit applies to its route only', async (t) => {
    const before = orders.requests.length;
    t.equal((await post('/orders/new', 'o'.repeat(200))).status, 413, 'the route allows 100 bytes');
    t.equal(orders.requests.length, before, 'the API saw nothing');
    const ok = await post('/orders/new', 'o'.repeat(50));
    t.equal(ok.status, 200);
    t.equal(orders.requests.at(-1)?.bodyLength, 50);
    t.equal((await post('/elsewhere', 'u'.repeat(200))).status, 200, 'the upstream allows 1024');
  });
});
