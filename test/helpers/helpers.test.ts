// Proves the test helpers (ports, real redis-server launcher, echo upstream) behave as other tests expect.
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout } from 'node:timers/promises';
import t from 'tap';
import { WebSocket } from 'ws';
import { closedPort, freePort } from './ports.js';
import { startRedis, startRedisCluster } from './redis.js';
import { type EchoBody, expectedDownloadSha256, startUpstream } from './upstream.js';

t.test('ports', async (t) => {
  const port = await freePort();
  t.ok(port > 0 && port < 65536, 'freePort gives a valid port');

  const refused = await closedPort();
  const code = await new Promise<string | undefined>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port: refused });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code));
  });
  t.equal(code, 'ECONNREFUSED', 'closedPort refuses connections');
});

t.test('redis: single server', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  t.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
  t.ok(redis.pid > 0);

  const client = redis.client();
  t.equal(await client.ping(), 'PONG');
  await client.set('k', 'v');
  t.equal(await client.get('k'), 'v');

  t.test('kill makes commands fail, restart brings it back on the same port', async (t) => {
    // No retries: a command issued during the outage fails at the first failed reconnect.
    const failing = redis.client({ maxRetriesPerRequest: 0 });
    t.equal(await failing.ping(), 'PONG');
    const oldPid = redis.pid;
    await redis.kill();
    await t.rejects(failing.ping(), 'command fails while the server is down');

    await redis.restart();
    t.not(redis.pid, oldPid, 'a new process');
    t.equal(await redis.client().ping(), 'PONG', 'new client on the same port');
    // The pre-existing default client reconnects by itself.
    t.equal(await client.ping(), 'PONG', 'old client reconnected');
    t.equal(await client.get('k'), null, 'data is gone after restart');
  });

  t.test('freeze makes commands time out, thaw recovers', async (t) => {
    const timed = redis.client({ commandTimeout: 500 });
    t.equal(await timed.ping(), 'PONG');
    redis.freeze();
    const started = Date.now();
    await t.rejects(timed.ping(), /timed out/i);
    t.ok(Date.now() - started >= 450, 'waited for the command timeout');
    redis.thaw();
    t.equal(await timed.ping(), 'PONG');
  });

  t.test('stop is idempotent and also works on a frozen server', async (t) => {
    const other = await startRedis({ password: 's3cret' });
    const authed = other.client();
    t.equal(await authed.ping(), 'PONG', 'client authenticates with the password');
    // The ready check (INFO) would itself fail with NOAUTH; skip it to see the error on a command.
    const anonymous = other.client({ password: undefined, enableReadyCheck: false });
    await t.rejects(anonymous.get('x'), /NOAUTH/, 'requirepass is enforced');
    other.freeze();
    await Promise.all([other.stop(), other.stop()]);
    await other.stop();
    t.throws(() => process.kill(other.pid, 0), 'process is gone');
  });
});

t.test('redis: cluster', async (t) => {
  const started = Date.now();
  const cluster = await startRedisCluster();
  t.teardown(() => cluster.stop());
  t.comment(`cluster ready in ${Date.now() - started} ms`);
  t.equal(cluster.nodes.length, 3);

  for (const server of cluster.servers) {
    const info = await server.client().cluster('INFO');
    t.match(String(info), /cluster_state:ok/, `node ${server.port} reports cluster_state:ok`);
  }

  const client = cluster.client();
  // These keys hash to slots owned by different masters.
  const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
  for (const key of keys) await client.set(key, `value-${key}`);
  for (const key of keys) t.equal(await client.get(key), `value-${key}`);
  const owners = new Set<string>();
  for (const server of cluster.servers) {
    const node = server.client();
    for (const key of keys) {
      const slot = Number(await node.cluster('KEYSLOT', key));
      const count = Number(await node.cluster('COUNTKEYSINSLOT', slot));
      if (count > 0) owners.add(String(server.port));
    }
  }
  t.ok(owners.size >= 2, `keys landed on ${owners.size} different nodes`);
});

function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

t.test('upstream', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  t.equal(upstream.url, `http://127.0.0.1:${upstream.port}`);

  t.test('echoes method, query, headers and body hash of a 5 MB POST', async (t) => {
    const body = randomBytes(5 * 1024 * 1024);
    const res = await httpRequest(`${upstream.url}/echo/path?a=1&a=2&b=x`, {
      method: 'POST',
      headers: { 'x-custom': 'hello', 'content-type': 'application/octet-stream' },
      body,
    });
    t.equal(res.status, 200);
    t.match(res.headers['content-type'], /application\/json/);
    const echo = JSON.parse(res.body.toString()) as EchoBody;
    t.equal(echo.method, 'POST');
    t.equal(echo.path, '/echo/path');
    t.same(echo.query, { a: ['1', '2'], b: 'x' });
    t.equal(echo.headers['x-custom'], 'hello');
    t.ok(echo.rawHeaders.includes('x-custom'));
    t.equal(echo.bodyLength, body.length);
    t.equal(echo.bodySha256, createHash('sha256').update(body).digest('hex'));
    t.equal(upstream.lastRequest?.method, 'POST');
    t.equal(upstream.lastRequest?.url, '/echo/path?a=1&a=2&b=x');
  });

  t.test('/slow waits, and records a client that gave up', async (t) => {
    const started = Date.now();
    const res = await httpRequest(`${upstream.url}/slow?ms=150`);
    t.equal(res.status, 200);
    t.ok(Date.now() - started >= 140, 'answered after the delay');
    t.equal(await upstream.lastRequest?.done, 'completed');

    const controller = new AbortController();
    const pending = fetch(`${upstream.url}/slow?ms=5000`, { signal: controller.signal });
    pending.catch(() => {});
    // Give up only once the upstream has the request, so it is the upstream that sees the abort.
    let record = upstream.requests.find((r) => r.url === '/slow?ms=5000');
    while (record === undefined) {
      await setTimeout(5);
      record = upstream.requests.find((r) => r.url === '/slow?ms=5000');
    }
    controller.abort();
    await t.rejects(pending);
    t.equal(await record.done, 'aborted');
    t.equal(record.aborted, true);
  });

  t.test('/download streams deterministic bytes', async (t) => {
    const n = 1_000_003;
    const res = await httpRequest(`${upstream.url}/download?bytes=${n}`);
    t.equal(res.headers['content-length'], String(n));
    t.equal(res.body.length, n);
    t.equal(createHash('sha256').update(res.body).digest('hex'), expectedDownloadSha256(n));
  });

  t.test('/sse, /status, /redirect, /set-cookies, /set-header', async (t) => {
    const sse = await httpRequest(`${upstream.url}/sse`);
    t.match(sse.headers['content-type'], /text\/event-stream/);
    t.equal(sse.body.toString(), 'data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: 5\n\n');

    t.equal((await httpRequest(`${upstream.url}/status/503`)).status, 503);
    const redirect = await httpRequest(`${upstream.url}/redirect?to=${encodeURIComponent('/elsewhere')}`);
    t.equal(redirect.status, 302);
    t.equal(redirect.headers.location, '/elsewhere');
    t.same((await httpRequest(`${upstream.url}/set-cookies`)).headers['set-cookie'], ['a=1', 'b=2']);
    t.equal((await httpRequest(`${upstream.url}/set-header?x-one=1`)).headers['x-one'], '1');
  });

  t.test('WebSocket echo reports the upgrade request first', async (t) => {
    const ws = new WebSocket(`ws://127.0.0.1:${upstream.port}/ws?room=1`, { headers: { 'x-test': 'yes' } });
    t.teardown(() => ws.terminate());
    ws.on('error', (err) => t.error(err));
    // Messages queue up until a test step takes them.
    const inbox: string[] = [];
    const waiting: ((message: string) => void)[] = [];
    ws.on('message', (data) => {
      const message = data.toString();
      const waiter = waiting.shift();
      if (waiter) waiter(message);
      else inbox.push(message);
    });
    const next = () =>
      new Promise<string>((resolve) => {
        const message = inbox.shift();
        if (message !== undefined) resolve(message);
        else waiting.push(resolve);
      });
    const first = JSON.parse(await next()) as { url: string; headers: Record<string, string> };
    t.equal(first.url, '/ws?room=1');
    t.equal(first.headers['x-test'], 'yes');
    ws.send('hello');
    t.equal(await next(), 'hello');
    t.equal(upstream.lastRequest?.upgrade, true);
  });

  t.test('reset and idempotent close', async (t) => {
    upstream.reset();
    t.equal(upstream.requests.length, 0);
    const extra = await startUpstream();
    await Promise.all([extra.close(), extra.close()]);
    await t.rejects(httpRequest(extra.url), { code: 'ECONNREFUSED' });
  });
});
