// npm run bench -- --profile: node --cpu-prof on the proxy under load, self time summarized per function and package.
//
// PROFILE_SCENARIOS [3,7]: any of 3 (the bare proxy, the baseline) and 4, 5, 6, 7, 7m, 8, 11a, 11b (authward);
// PROFILE_DURATION [10] s after WARMUP; PROFILE_USERS [0]: that many sessions round-robin instead of one. With 3 and an authward scenario, a side-by-side table shows
// what authward adds per request, package by package, then function by function. The .cpuprofile files (open them in Chrome
// DevTools) and the summaries land in the run's results folder.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestIdp } from '../lab/idp.js';
import { startRedis, type TestRedis } from '../lab/redis.js';
import { startBenchIdp, userAccessToken } from './lib/api-client.js';
import { needsBuild, startAuthward } from './lib/authward.js';
import { type ProfileSummary, renderSummary, summarize } from './lib/cpuprofile.js';
import { type Server, startBackend, startBareProxy } from './lib/peers.js';
import { INSTANCES, SPECS } from './lib/scenarios.js';
import { signInMany, signInUser } from './lib/sessions.js';
import { BENCH, loadSettings, ROOT, type ScenarioId, type Settings } from './lib/settings.js';
import { findTools } from './lib/tools.js';
import { expectBearer, expectBody } from './lib/verify.js';
import { runWrk } from './lib/wrk.js';

const PROFILABLE = new Set(['3', '4', '5', '6', '7', '7m', '8', '11a', '11b']);

interface Shared {
  s: Settings;
  wrk: string;
  backend: Server;
  body: string;
  idp?: TestIdp;
  redis?: TestRedis;
  say: (line: string) => void;
}

interface Profiled {
  id: ScenarioId;
  summary: ProfileSummary;
  requests: number;
}

async function profileOne(sh: Shared, id: ScenarioId, seconds: number): Promise<Profiled> {
  const { s } = sh;
  const spec = SPECS[id];
  const dir = join(s.runDir, `cpuprofile-${id}`);
  mkdirSync(dir, { recursive: true });
  const prof = ['--cpu-prof', `--cpu-prof-dir=${dir}`];
  let url: string;
  let cookie: string | undefined;
  let bearer: string | undefined;
  let cookieFile: string | undefined;
  let spawnedAt: number;
  let stop: () => Promise<void>;
  if (spec.peer === 'bare') {
    spawnedAt = Date.now();
    const bare = await startBareProxy(s, sh.backend.url, prof);
    url = `${bare.url}${spec.path}`;
    stop = () => bare.child.stop();
  } else {
    const idp = sh.idp as TestIdp;
    const variant = INSTANCES[spec.instance ?? 'mem'];
    const aw = await startAuthward(
      s,
      variant,
      { idp, backendUrl: sh.backend.url, ...(sh.redis ? { redisUrl: sh.redis.url } : {}) },
      prof,
    );
    spawnedAt = aw.spawnedAt;
    stop = () => aw.stop();
    const signedIn = await signInUser(idp, aw, 'bench-user', sh.body);
    if (spec.kind === 'api' || spec.kind === 'obo') bearer = await userAccessToken(idp, 'bench-user');
    else if (spec.kind !== 'public') cookie = signedIn;
    url = `${aw.url}${spec.path}`;
    if (spec.kind === 'token') await expectBearer(idp, `${aw.url}/api`, signedIn, 'bench-user');
    // PROFILE_USERS=n: n sessions round-robin (e.g. 8 without requests sharing one in-flight read).
    const users = Number(process.env.PROFILE_USERS ?? 0);
    if (users > 0 && spec.kind !== 'public') {
      const opts = {
        prefix: 'prof-',
        n: users,
        concurrency: s.signInConcurrency,
        threads: s.signInThreads,
        budgetS: 120,
        expectBody: sh.body,
      };
      const many = await signInMany(idp, aw, opts, () => undefined);
      cookieFile = join(dir, 'cookies.txt');
      writeFileSync(cookieFile, `${many.sessions.map((x) => x.cookie).join('\n')}\n`, { mode: 0o600 });
      sh.say(`${many.sessions.length} sessions signed in for the profile`);
    }
  }
  await expectBody(url, sh.body, cookie ? { cookie } : bearer ? { authorization: `Bearer ${bearer}` } : {});
  const headers = cookie ? [`Cookie: ${cookie}`] : bearer ? [`Authorization: Bearer ${bearer}`] : [];
  const load = (sec: number) =>
    runWrk({
      wrk: sh.wrk,
      url,
      threads: s.threads,
      conns: s.conns,
      seconds: sec,
      ...(cookieFile
        ? { script: join(BENCH, 'lua', 'cookies.lua'), scriptArgs: [cookieFile, new URL(url).pathname] }
        : { script: join(BENCH, 'lua', 'report.lua'), headers }),
    });
  sh.say(`profiling scenario ${id}: ${s.warmup} s warm-up, ${seconds} s measured`);
  if (s.warmup > 0) await load(s.warmup);
  const from = Date.now() - spawnedAt;
  const w = await load(seconds);
  const to = Date.now() - spawnedAt;
  await stop(); // SIGTERM: a graceful exit writes the profile
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir} (did the process exit cleanly?)`);
  // Every function worth 0.01 % or more (the per-function diff against 3 needs more than the top 25).
  const summary = summarize(join(dir, file), ROOT, from, to, 400);
  const text = `scenario ${id} (${url}): ${w.rps.toFixed(0)} req/s, p99 ${w.p99_ms.toFixed(2)} ms under profiling\n${renderSummary(summary, w.requests)}\n`;
  process.stdout.write(`\n${text}`);
  writeFileSync(join(dir, 'summary.txt'), text);
  writeFileSync(
    join(dir, 'summary.json'),
    `${JSON.stringify({ scenario: id, wrk: w, ...summary }, null, 2)}\n`,
  );
  sh.say(`profile: ${join(dir, file)}`);
  return { id, summary, requests: w.requests };
}

/** Per package: µs of main-thread self time per request, the bare proxy beside each authward scenario. */
function compare(all: Profiled[]): string {
  const perReq = (p: Profiled, area: string) => {
    const e = p.summary.byArea.find((a) => a.name === area);
    return e ? (e.ms * 1000) / Math.max(1, p.requests) : 0;
  };
  const cell = (v: number) => (v === 0 ? '-' : v.toFixed(1)).padStart(13);
  const areas = [...new Set(all.flatMap((p) => p.summary.byArea.map((a) => a.name)))];
  const base = all.find((p) => p.id === '3');
  const rows = areas
    .map((a) => ({ a, v: all.map((p) => perReq(p, a)) }))
    .filter((r) => Math.max(...r.v) >= 0.5)
    .sort((x, y) => Math.max(...y.v) - Math.max(...x.v));
  const head = `${'µs/req by package'.padEnd(32)}${all.map((p) => `scenario ${p.id}`.padStart(13)).join('')}`;
  const total = `${'total busy'.padEnd(32)}${all.map((p) => ((p.summary.busyMs * 1000) / Math.max(1, p.requests)).toFixed(1).padStart(13)).join('')}`;
  const lines = rows.map((r) => `${r.a.slice(0, 31).padEnd(32)}${r.v.map(cell).join('')}`);
  const note = base ? '   (main-thread self time per request, >= 0.5 µs somewhere)' : '';
  return [`${head}${note}`, total, ...lines].join('\n');
}

/**
 * Per function: what each authward scenario spends beyond the bare proxy (3), µs of self time per
 * request, largest first. Absolute µs move with the machine's load; which functions head the list and
 * their order hold much better, and they are what to work on.
 */
function diffFunctions(all: Profiled[], n = 30): string {
  const base = all.find((p) => p.id === '3');
  if (!base) return '';
  const perReq = (p: Profiled) =>
    new Map(p.summary.top.map((f) => [`${f.name}  ${f.where}`, (f.ms * 1000) / Math.max(1, p.requests)]));
  const b = perReq(base);
  return all
    .filter((p) => p !== base)
    .map((p) => {
      const rows = [...perReq(p)]
        .map(([k, v]) => ({ k, v, d: v - (b.get(k) ?? 0) }))
        .sort((x, y) => y.d - x.d)
        .slice(0, n)
        .map((r) => `${r.d.toFixed(2).padStart(7)} ${r.v.toFixed(2).padStart(7)}  ${r.k}`);
      return `\nscenario ${p.id} minus 3, µs/req of self time (added, total, function):\n${rows.join('\n')}\n`;
    })
    .join('');
}

export async function runProfile(say: (line: string) => void): Promise<number> {
  const s = loadSettings();
  const ids = (process.env.PROFILE_SCENARIOS ?? process.env.PROFILE_SCENARIO ?? '3,7')
    .split(/[\s,]+/)
    .filter(Boolean);
  const bad = ids.filter((id) => !PROFILABLE.has(id));
  if (bad.length > 0)
    throw new Error(`PROFILE_SCENARIOS: ${bad.join(', ')} not one of ${[...PROFILABLE].join(' ')}`);
  const seconds = Number(process.env.PROFILE_DURATION ?? 10);
  const needsRedis = ids.some(
    (id) => INSTANCES[SPECS[id as ScenarioId].instance ?? 'mem'].cache === 'redis' && id !== '3',
  );
  const tools = findTools(needsRedis ? ['wrk', 'redisServer'] : ['wrk'], say);
  if (!tools.wrk || (needsRedis && !tools.redisServer)) return 1;
  if (needsBuild(s.build))
    throw new Error('dist/ is older than src/: run `npm run build` (or plain `npm run bench`) first');

  const backend = await startBackend(s);
  const sh: Shared = { s, wrk: tools.wrk, backend, body: await (await fetch(`${backend.url}/`)).text(), say };
  try {
    if (ids.some((id) => id !== '3')) sh.idp = (await startBenchIdp()).idp;
    if (needsRedis) sh.redis = await startRedis();
    const done: Profiled[] = [];
    for (const id of ids) done.push(await profileOne(sh, id as ScenarioId, seconds));
    if (done.length > 1) process.stdout.write(`\n${compare(done)}\n${diffFunctions(done)}`);
    return 0;
  } finally {
    await backend.child.stop();
    await sh.redis?.stop();
    await sh.idp?.close();
  }
}
