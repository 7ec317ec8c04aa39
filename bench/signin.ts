// npm run bench -- --signin: authward's own CPU per completed sign-in, and the sign-ins per second one process sustains.
//
// SIGNIN_USERS [2000] users sign in through the test IdP, SIGNIN_CONCURRENCY [16] at a time, to one
// memory-cache authward (SIGNIN_CACHE=redis: the Redis cache). The IdP and the browsers run here, in
// the driver (the browsers in SIGNIN_THREADS [2] worker threads, the IdP in the main one), authward
// in its own process: its CPU time (/proc) over the completed sign-ins is what one sign-in costs it
// (code redemption, ID-token verification, session and cache writes, the pages and redirects),
// whatever the provider costs. 1 s / that is what one process sustains once the provider is not the
// bottleneck; the rate measured here is also shown, with authward's CPU share (below ~90 % of a
// core, the IdP and browsers were the bottleneck). SIGNIN_PROFILE=1 adds node --cpu-prof and a
// self-time summary; SIGNIN_NODE_ARGS, node flags for authward (e.g. heap flags); USERS_BUDGET_S
// [600] stops the sign-ins early.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startIdp } from '../lab/idp.js';
import { startRedis, type TestRedis } from '../lab/redis.js';
import { startAuthward } from './lib/authward.js';
import { renderSummary, summarize } from './lib/cpuprofile.js';
import { HeapProbe, INSPECT_ARGS } from './lib/heap-probe.js';
import { startBackend } from './lib/peers.js';
import { cpuSeconds, rssKiB } from './lib/proc-stats.js';
import { signInMany, signInUser } from './lib/sessions.js';
import { loadSettings, ROOT } from './lib/settings.js';

export async function runSignIn(say: (line: string) => void): Promise<number> {
  const s = loadSettings();
  const users = Number(process.env.SIGNIN_USERS ?? 2000);
  const cache = process.env.SIGNIN_CACHE === 'redis' ? 'redis' : 'memory';
  const profile = process.env.SIGNIN_PROFILE === '1';
  const profDir = join(s.runDir, 'cpuprofile-signin');
  if (profile) mkdirSync(profDir, { recursive: true });
  const backend = await startBackend(s);
  const body = await (await fetch(`${backend.url}/`)).text();
  const idp = await startIdp({ apiScopes: ['api://bench/read'] });
  let redis: TestRedis | undefined;
  if (cache === 'redis') redis = await startRedis();
  const aw = await startAuthward(
    s,
    { name: `signin-${cache}`, cache },
    { idp, backendUrl: backend.url, ...(redis ? { redisUrl: redis.url } : {}) },
    [
      ...INSPECT_ARGS,
      // e.g. the image's heap flags for a 256 MiB limit: SIGNIN_NODE_ARGS="$(node -e ...)"
      ...(process.env.SIGNIN_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []),
    ],
  );
  const probe = await HeapProbe.open(aw.child.logFile);
  let window = { from: 0, to: 0, n: 0 };
  try {
    // Warm-up: the first sign-ins pay for JIT, the JWKS fetch and the connection pools.
    for (let i = 0; i < 20; i++) await signInUser(idp, aw, `warm-${i}`, body);
    const pid = aw.child.pid;
    const live0 = await probe.afterGc();
    const from = Date.now() - aw.spawnedAt;
    const cpu0 = { aw: cpuSeconds([pid]).total, driver: process.cpuUsage() };
    say(`signing in ${users} users, ${s.signInConcurrency} at a time, ${cache} cache`);
    const many = await signInMany(
      idp,
      aw,
      {
        prefix: 'signin-',
        n: users,
        concurrency: s.signInConcurrency,
        threads: s.signInThreads,
        budgetS: s.usersBudgetS ?? 600,
        expectBody: body,
      },
      (done, sec) => say(`  ${done} signed in after ${sec.toFixed(0)} s`),
    );
    window = { from, to: Date.now() - aw.spawnedAt, n: many.sessions.length };
    const done = Math.max(1, many.sessions.length);
    const awCpu = cpuSeconds([pid]).total - cpu0.aw;
    const d = process.cpuUsage(cpu0.driver);
    const rssPeak = rssKiB([pid]) / 1024;
    const live = await probe.afterGc();
    const usPerSignIn = (awCpu * 1e6) / done;
    const result = {
      cache,
      users: many.sessions.length,
      failures: many.failures,
      seconds: many.seconds,
      signInsPerSecond: many.sessions.length / many.seconds,
      authwardCpuUsPerSignIn: usPerSignIn,
      authwardCoreShare: awCpu / many.seconds,
      sustainablePerSecond: 1e6 / usPerSignIn,
      driverCpuUsPerSignIn: ((d.user + d.system) / done) | 0,
      authwardRssMiB: rssPeak,
      rssAfterGcMiB: live.rss / 1048576,
      retainedKiBPerSession: (live.heapUsed + live.external - live0.heapUsed - live0.external) / 1024 / done,
      heapUsedMiB: live.heapUsed / 1048576,
    };
    writeFileSync(join(s.runDir, 'signin.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      [
        `sign-ins: ${result.users} in ${result.seconds.toFixed(1)} s = ${result.signInsPerSecond.toFixed(0)}/s (${cache} cache, ${result.failures} failures)`,
        `authward CPU per sign-in: ${usPerSignIn.toFixed(0)} µs (${(result.authwardCoreShare * 100).toFixed(0)} % of a core while signing in)`,
        `one process sustains ~${result.sustainablePerSecond.toFixed(0)} sign-ins/s when the provider is not the bottleneck`,
        `IdP + browsers (this process): ${result.driverCpuUsPerSignIn} µs CPU per sign-in`,
        `authward before: RSS ${(live0.rss / 1048576).toFixed(0)} MiB after a full GC (heap ${(live0.heapUsed / 1048576).toFixed(0)} MiB, external ${(live0.external / 1048576).toFixed(0)} MiB)`,
        `authward memory: RSS ${rssPeak.toFixed(0)} MiB after the sign-ins, ${result.rssAfterGcMiB.toFixed(0)} MiB after a full GC (heap ${result.heapUsedMiB.toFixed(0)} MiB); retained ${result.retainedKiBPerSession.toFixed(2)} KiB per session (heap + external)`,
        '',
      ].join('\n'),
    );
  } finally {
    probe.close();
    await aw.stop();
    await backend.child.stop();
    await redis?.stop();
    await idp.close();
  }
  if (profile) {
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (file) {
      const summary = summarize(join(profDir, file), ROOT, window.from, window.to);
      const text = renderSummary(summary, window.n).replaceAll('µs/req', 'µs/sign-in');
      writeFileSync(join(profDir, 'summary.txt'), text);
      process.stdout.write(`profile: ${join(profDir, file)}\n${text}\n`);
    }
  }
  return 0;
}
