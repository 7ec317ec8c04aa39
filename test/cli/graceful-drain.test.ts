// SIGTERM on the real process: in-flight requests finish, readiness and new connections go away, exit 0;
// and its stdout is JSON lines that never carry a client's Cookie or Authorization.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Client, request } from 'undici';
import { stringify } from 'yaml';
import { rawConfig } from '../helpers/config.js';
import { startUpstream } from '../helpers/upstream.js';
import { startCli } from './cli-process.js';

const GRACE_SECONDS = 8;
const COOKIE_SECRET = 'cookie-secret-4b1f0c';
const AUTHORIZATION_SECRET = 'bearer-secret-9e2d77';
const secretHeaders = {
  cookie: `app_session=${COOKIE_SECRET}; authward=${COOKIE_SECRET}`,
  authorization: `Bearer ${AUTHORIZATION_SECRET}`,
};

const upstream = await startUpstream();
t.teardown(() => upstream.close());

const file = join(t.testdir(), 'authward.yaml');
writeFileSync(
  file,
  stringify(
    rawConfig({
      listen: { host: '127.0.0.1', port: 0 },
      publicRoutes: [{ path: '/*' }],
      upstream: { url: upstream.url },
      shutdownGraceSeconds: GRACE_SECONDS,
      logging: { level: 'info' },
    }),
  ),
);

const child = startCli(['--config', file]);
t.teardown(() => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
let stdout = '';
let stderr = '';
child.stdout?.on('data', (c) => {
  stdout += c;
});
child.stderr?.on('data', (c) => {
  stderr += c;
});
const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

/** Resolves with the port once the process logs that it listens. */
const port = await new Promise<number>((resolve, reject) => {
  const timer = setTimeout(
    () => reject(new Error(`not listening after 60 s:\n${stdout}\n${stderr}`)),
    60_000,
  );
  const check = () => {
    const m = /"msg":"Server listening at http:\/\/127\.0\.0\.1:(\d+)"/.exec(stdout);
    if (m) {
      clearTimeout(timer);
      child.stdout?.off('data', check);
      resolve(Number(m[1]));
    }
  };
  child.stdout?.on('data', check);
  child.once('exit', (code) => reject(new Error(`exited ${code} before listening:\n${stderr}`)));
});
const base = `http://127.0.0.1:${port}`;

/** Status of GET path on a new connection, or the connection error's code. */
async function probe(path: string): Promise<{ status: number; body: string } | { error: string }> {
  const client = new Client(base, { pipelining: 0 });
  try {
    const res = await client.request({ path, method: 'GET', headers: { connection: 'close' } });
    return { status: res.statusCode, body: await res.body.text() };
  } catch (err) {
    return { error: (err as { code?: string }).code ?? String(err) };
  } finally {
    client.destroy();
  }
}

t.test('SIGTERM drains: in-flight finishes, readiness and new connections go, exit 0', async (t) => {
  const before = await probe('/readyz');
  t.match(before, { status: 503, body: /"status":"starting"/ }, 'not ready before (no provider): starting');
  t.match(await probe('/healthz'), { status: 200 });

  // A normal request carrying secrets, for the log check below.
  const plain = await request(`${base}/plain?x=1`, { headers: secretHeaders });
  t.equal(plain.statusCode, 200);
  await plain.body.dump();

  const startedAt = Date.now();
  const inFlight = request(`${base}/slow?ms=1500`, { headers: secretHeaders });
  // SIGTERM 200 ms in, and never before the request is on its way upstream (a loaded machine is slow).
  while (!upstream.requests.some((r) => r.url.startsWith('/slow')) || Date.now() - startedAt < 200) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const sentAt = Date.now();
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 100));

  const during = await probe('/readyz');
  if ('status' in during) {
    t.equal(during.status, 503, '/readyz while draining: 503');
    t.notMatch(during.body, /"status":"(ready|starting)"/);
  } else {
    t.equal(during.error, 'ECONNREFUSED', '/readyz while draining: refused');
  }

  const res = await inFlight;
  t.equal(res.statusCode, 200, 'the in-flight request completes');
  t.match(await res.body.json(), { path: '/slow', waitedMs: 1500 });

  t.match(await probe('/healthz'), { error: 'ECONNREFUSED' }, 'new connections are refused');

  const [code, signal] = await exited;
  const took = Date.now() - sentAt;
  t.equal(code, 0, `exit 0 (signal ${signal}) ${stderr}`);
  t.ok(took < GRACE_SECONDS * 1000, `exited ${took} ms after SIGTERM (grace ${GRACE_SECONDS} s)`);
  t.ok(took >= 1000, 'not before the in-flight request was done');
});

t.test('stdout: JSON lines only, no Cookie or Authorization values', async (t) => {
  await exited;
  const lines = stdout.split('\n').filter((l) => l !== '');
  t.ok(lines.length >= 4, `${lines.length} lines`);
  const parsed = lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      t.fail(`not JSON: ${l}`);
      return {};
    }
  });
  t.ok(
    parsed.some((l) => l.msg === 'request' && l.path === '/slow' && l.status === 200),
    'the drained request has its access line',
  );
  t.ok(
    parsed.some((l) => l.event === 'shutdown'),
    'the shutdown is logged',
  );
  t.notOk(stdout.includes(COOKIE_SECRET), 'no cookie value');
  t.notOk(stdout.includes(AUTHORIZATION_SECRET), 'no authorization value');
  t.notOk(stderr.includes(COOKIE_SECRET) || stderr.includes(AUTHORIZATION_SECRET), 'nor on stderr');
});
