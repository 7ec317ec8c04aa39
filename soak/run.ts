// npm run soak: a bounded mixed-traffic run against `node dist/cli.js`, with one Redis restart in the middle.
//
// N real signed-in users (test IdP sign-in) across public, upstream and token routes, sign-outs and
// sign-ins all along, a Redis token cache restarted (with its data, AOF) halfway. Every 10 s a line with
// the interval's throughput, latency and errors and the proxy's RSS and heap. At the end: errors inside
// and outside the Redis window, latency percentiles per kind, whether memory flattened. Exit 1 if any error
// fell outside the Redis window or memory kept climbing. Loopback only. See soak/README.md.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { startApi } from '../lab/api.js';
import { startIdp } from '../lab/idp.js';
import { startRedis } from '../lab/redis.js';
import { startUpstream } from '../lab/upstream.js';
import { startAuthward } from './lib/authward.js';
import { KINDS, percentile, Stats, slope } from './lib/stats.js';
import { drive, signInAll, User } from './lib/users.js';

// This file runs from soak/.build/soak/: the checkout is three levels up.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const num = (name: string, dflt: number) => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}: expected a positive number`);
  return v;
};
const SECONDS = num('SOAK_SECONDS', 300);
const USERS = Math.round(num('SOAK_USERS', 50));
const SAMPLE_S = num('SOAK_SAMPLE_SECONDS', 10);
const CHURN_MS = num('SOAK_CHURN_MS', 2000); // one user signs out and in again this often
const WINDOW_GRACE_S = 3; // after the store is back, errors still count as the restart's for this long

const say = (line: string) => process.stdout.write(`${line}\n`);
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const signed = (bytes: number) => `${bytes >= 0 ? '+' : ''}${mb(bytes)}`;
const fmt = (ms: number) => (Number.isNaN(ms) ? '-' : ms < 10 ? ms.toFixed(1) : Math.round(ms).toString());

async function main(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'authward-soak-'));
  // 330 s access tokens: fresh for 25 s (MSAL renews 300 s before expiry), so each user refreshes
  // under the store's lock every half minute or so, all through the run.
  const idp = await startIdp({ apiScopes: ['api://orders/read'], accessTokenTTL: 330 });
  const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  const upstream = await startUpstream();
  const api = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  const aw = await startAuthward({
    root: ROOT,
    dir,
    idp,
    upstreamUrl: upstream.url,
    apiUrl: api.url,
    redisUrl: redis.url,
  });
  say(
    `soak: ${SECONDS} s, ${USERS} users, Redis restart at ${Math.round(SECONDS / 2)} s; authward pid ${aw.pid}, log ${aw.logFile}`,
  );

  const stats = new Stats();
  const users = Array.from({ length: USERS }, (_, i) => new User(`soak${i}`, idp, aw.url, stats));
  const signInStarted = performance.now();
  await signInAll(users, 8);
  say(`signed in ${USERS} users in ${((performance.now() - signInStarted) / 1000).toFixed(1)} s`);
  stats.startClock();
  const elapsed = () => stats.now();
  const stop = () => elapsed() >= SECONDS;
  const loops = users.map((u) => drive(u, stop));
  const churn = (async () => {
    while (!stop()) {
      await sleep(CHURN_MS);
      const u = users[Math.floor(Math.random() * users.length)] as User;
      if (u.signedIn) u.churn = true;
    }
  })();

  const window = { start: Number.NaN, end: Number.NaN, upAt: Number.NaN };
  const restart = (async () => {
    await sleep((SECONDS / 2) * 1000);
    window.start = stats.now();
    await redis.restart();
    const restarted = stats.now();
    while ((await aw.tokenStore()) !== 'up' && !stop()) await sleep(50);
    window.upAt = stats.now();
    window.end = window.upAt + WINDOW_GRACE_S;
    say(
      `  redis restarted at ${window.start.toFixed(1)} s (down ${(restarted - window.start).toFixed(1)} s); authward's store up again at ${window.upAt.toFixed(1)} s`,
    );
  })();

  const samples: { t: number; rss: number; heap: number }[] = [];
  say('     t  req/s  err   p50   p95   p99 ms    rss MB  heap MB');
  let lastFailures = 0;
  while (!stop()) {
    await sleep(Math.min(SAMPLE_S * 1000, Math.max(0, (SECONDS - elapsed()) * 1000)));
    const t = elapsed();
    const { latencies, count } = stats.takeInterval();
    const m = await aw.memory();
    samples.push({ t, rss: m.rss, heap: m.heapUsed });
    const errs = stats.failures.length - lastFailures;
    lastFailures = stats.failures.length;
    say(
      `${t.toFixed(0).padStart(6)} ${(count / SAMPLE_S).toFixed(0).padStart(6)} ${String(errs).padStart(4)} ${fmt(percentile(latencies, 50)).padStart(5)} ${fmt(percentile(latencies, 95)).padStart(5)} ${fmt(percentile(latencies, 99)).padStart(5)}    ${mb(m.rss).padStart(7)}  ${mb(m.heapUsed).padStart(7)}`,
    );
  }
  await Promise.all([...loops, churn, restart]);

  // ---------------------------------------------------------------- report
  const inWindow = (at: number) => at >= window.start && at <= window.end;
  const outside = stats.failures.filter((f) => !inWindow(f.at));
  const inside = stats.failures.filter((f) => inWindow(f.at));
  const group = (list: typeof stats.failures) =>
    Object.entries(
      list.reduce<Record<string, number>>((acc, f) => {
        const k = `${f.kind}: ${f.what}`;
        acc[k] = (acc[k] ?? 0) + 1;
        return acc;
      }, {}),
    )
      .map(([k, n]) => `${n} x ${k}`)
      .join('; ') || 'none';

  say('');
  say('kind        requests   errors   p50    p90    p99    max (ms)');
  for (const kind of KINDS) {
    const l = stats.latencies(kind);
    const e = stats.failures.filter((f) => f.kind === kind).length;
    say(
      `${kind.padEnd(10)} ${String(l.length + e).padStart(9)} ${String(e).padStart(8)} ${fmt(percentile(l, 50)).padStart(5)}  ${fmt(percentile(l, 90)).padStart(5)}  ${fmt(percentile(l, 99)).padStart(5)}  ${fmt(percentile(l, 100)).padStart(5)}`,
    );
  }
  say('');
  say(
    `Redis window ${window.start.toFixed(1)}-${window.end.toFixed(1)} s: ${inside.length} errors (${group(inside)})`,
  );
  say(`errors outside the Redis window: ${outside.length} (${group(outside)})`);

  // Memory: after a warm-up third, the heap's floor (its minimum, i.e. after collections) and RSS must
  // not keep rising: compare the first and last halves of the remaining samples, and the trend.
  const settled = samples.filter((s) => s.t >= SECONDS / 3);
  const half = Math.floor(settled.length / 2);
  const [a, b] = [settled.slice(0, Math.max(1, half)), settled.slice(half)];
  const floor = (list: typeof samples, k: 'rss' | 'heap') => Math.min(...list.map((s) => s[k]));
  const heapRise = floor(b, 'heap') - floor(a, 'heap');
  const rssRise = floor(b, 'rss') - floor(a, 'rss');
  const perMin = (k: 'rss' | 'heap') => signed(slope(settled.map((s) => [s.t / 60, s[k]])));
  const flat = settled.length >= 2 && heapRise < 10 * 2 ** 20 && rssRise < 20 * 2 ** 20;
  say(
    `memory after warm-up (${settled.length} samples): RSS ${mb(settled[0]?.rss ?? 0)} -> ${mb(settled.at(-1)?.rss ?? 0)} MB (floor ${signed(rssRise)} MB, trend ${perMin('rss')} MB/min), heap ${mb(settled[0]?.heap ?? 0)} -> ${mb(settled.at(-1)?.heap ?? 0)} MB (floor ${signed(heapRise)} MB, trend ${perMin('heap')} MB/min): ${flat ? 'flat' : settled.length < 2 ? 'too few samples to judge' : 'CLIMBING'}`,
  );

  const c = await aw.counters([
    'authward_token_acquisitions_total{source="l1"}',
    'authward_token_acquisitions_total{source="store"}',
    'authward_token_refreshes_total',
    'authward_token_refresh_failures_total',
    'authward_token_lock_waits_total',
    'authward_token_store_errors_total',
  ]);
  say(
    `tokens (proxy metrics): ${c['authward_token_acquisitions_total{source="l1"}']} in-process hits, ${c['authward_token_acquisitions_total{source="store"}']} from Redis, ${c.authward_token_refreshes_total} refreshes (${c.authward_token_refresh_failures_total} failed), ${c.authward_token_lock_waits_total} lock waits, ${c.authward_token_store_errors_total} store errors`,
  );

  const code = await aw.stop();
  say(`authward exited ${code} after SIGTERM`);
  await Promise.all(users.map((u) => u.close()));
  await Promise.all([api.close(), upstream.close(), redis.stop(), idp.close()]);
  const ok = outside.length === 0 && (flat || settled.length < 2) && code === '0';
  say(ok ? 'soak: PASS' : 'soak: FAIL');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
