// listen.workers: 2 processes serve one port with the Redis cache; a session made on one is valid on
// the other; metrics.port adds up every worker; a worker that dies is replaced; SIGTERM drains all.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Agent, fetch as undiciFetch } from 'undici';
import { stringify } from 'yaml';
import { Browser, signIn } from '../helpers/browser.js';
import { newKey, rawConfig } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startRedis } from '../helpers/redis.js';
import { startUpstream } from '../helpers/upstream.js';
import { identityFor } from '../helpers/world.js';
import { runCli, startCli } from './cli-process.js';

const idp = await startIdp();
t.teardown(() => idp.close());
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const redis = await startRedis();
t.teardown(() => redis.stop());

const port = await freePort();
const metricsPort = await freePort();
const url = `http://127.0.0.1:${port}`;
const dir = t.testdir();
const write = (name: string, overrides: Record<string, unknown>) => {
  const file = join(dir, name);
  writeFileSync(
    file,
    stringify(
      rawConfig({
        listen: { host: '127.0.0.1', port, workers: 2 },
        publicUrl: url,
        identity: identityFor(idp),
        upstream: { url: upstream.url },
        tokenCache: { type: 'redis', url: redis.url, keyPrefix: 'workers:', encryptionKeys: [newKey()] },
        metrics: { enabled: true, host: '127.0.0.1', port: metricsPort },
        logging: { level: 'info' },
        shutdownGraceSeconds: 5,
        ...overrides,
      }),
    ),
  );
  return file;
};

t.test('workers above 1 need the Redis cache: a config error', async (t) => {
  const r = await runCli([
    '--config',
    write('memory.yaml', { tokenCache: { type: 'memory' } }),
    '--check-config',
  ]);
  t.equal(r.code, 1);
  t.match(r.stderr, /listen\.workers: more than 1 needs tokenCache\.type redis/);
});

t.test('two workers on one port', async (t) => {
  const child = startCli(['--config', write('workers.yaml', {})]);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not a log line */
      }
    }
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const workerPids = () => new Set(lines.filter((l) => l.msg === 'request').map((l) => l.pid));
  // Waits below end at the event; their deadlines only stop a hang (a worker start can take tens of
  // seconds on a loaded 2-core machine), they are no timing goal.
  const ready = async () => {
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline) {
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      if (res?.status === 200) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  };
  const listeningPids = () =>
    new Set(lines.filter((l) => l.event === 'worker_listening').map((l) => l.worker));
  const until = async (what: string, check: () => boolean, ms = 120_000) => {
    const deadline = Date.now() + ms;
    while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.ok(check(), what);
  };
  await until('both workers listening', () => listeningPids().size === 2);
  t.ok(await ready(), 'ready');

  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  const page = await signIn(browser, `${url}/app`, { login: 'wanda' });
  t.equal(page.status, 200, 'signed in');
  // A new connection per request, so the cluster's round robin spreads them over both workers.
  const fresh = new Agent({ pipelining: 0, keepAliveTimeout: 1 });
  t.teardown(() => fresh.close());
  const cookie = browser.cookieHeader(`${url}/app`) ?? '';
  const N = 20;
  for (let i = 0; i < N; i++) {
    const res = await undiciFetch(`${url}/app/${i}`, {
      headers: { cookie, accept: 'application/json', connection: 'close' },
      dispatcher: fresh,
      signal: AbortSignal.timeout(30_000),
    });
    t.equal(res.status, 200, `request ${i}: the session is valid on whichever worker answers`);
    await res.arrayBuffer();
  }
  // (Access lines reach this process through the primary's stdout a little after the answers.)
  await until('access lines from two worker processes', () => workerPids().size === 2);

  const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  const metrics = await scrape.text();
  t.equal(scrape.status, 200, 'metrics.port answers for the cluster');
  const served = Number(
    /authward_http_requests_total\{route="upstream",status_class="2xx",client="browser"\} (\d+)/.exec(
      metrics,
    )?.[1],
  );
  t.ok(served >= N + 1, `metrics add up both workers: ${served} upstream answers`);
  t.match(metrics, /authward_ready 1\n/, 'ready: every worker');

  // A worker that dies is replaced, and the new one serves the same session.
  const before = listeningPids();
  const victim = [...before][0] as number;
  process.kill(victim, 'SIGKILL');
  await until('the primary logged the dead worker', () =>
    lines.some((l) => l.event === 'worker_exit' && l.worker === victim),
  );
  await until('a new worker is listening', () => [...listeningPids()].some((pid) => !before.has(pid)));
  const fresh2 = [...listeningPids()].find((pid) => !before.has(pid));
  const servedBy = async () => {
    const res = await undiciFetch(`${url}/app/after`, {
      headers: { cookie, accept: 'application/json', connection: 'close' },
      dispatcher: fresh,
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const deadline = Date.now() + 60_000;
  while (!workerPids().has(fresh2) && Date.now() < deadline) {
    t.equal(await servedBy(), 200, 'served while a worker is replaced');
    await new Promise((r) => setTimeout(r, 20));
  }
  t.ok(workerPids().has(fresh2), 'the new worker serves requests with the same session');

  child.kill('SIGTERM');
  const [code, signal] = await exited;
  t.equal(code, 0, `SIGTERM: every worker drained, the primary exits 0 (${code} ${signal})`);
  t.ok(
    lines.some((l) => l.event === 'shutdown' && l.msg === 'shutting down: 2 workers draining'),
    'the primary said so',
  );
});
