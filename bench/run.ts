// npm run bench: authward beside direct access, nginx and the bare Fastify proxy, in one run, on loopback.
//
//   npm run bench                 the scenarios (SCENARIOS, DURATION, CONNS, THREADS, USERS, ...: bench/README.md)
//   npm run bench -- --micro      per-request pieces in-process (bench/micro.ts)
//   npm run bench -- --profile    node --cpu-prof: the bare proxy and authward under scenario 7 (bench/profile.ts)
//   npm run bench -- --signin     authward's CPU per sign-in and the sign-ins/s one process sustains (bench/signin.ts)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { TestIdp } from '../lab/idp.js';
import type { ApiGrants } from '../lab/idp-grants.js';
import { startRedis } from '../lab/redis.js';
import { startBenchIdp } from './lib/api-client.js';
import { needsBuild } from './lib/authward.js';
import { combine, type Measurement, measure, measurePaired } from './lib/measure.js';
import { backendStats, startBackend } from './lib/peers.js';
import { installCleanup } from './lib/procs.js';
import { checkTargets, LABELS, type Row, renderTables, renderTargets } from './lib/report.js';
import { type Prepared, prepare, type RunContext } from './lib/scenario-run.js';
import { INSTANCES, plan, rotated, SPECS } from './lib/scenarios.js';
import { BENCH, loadSettings, ROOT, type Settings } from './lib/settings.js';
import { findTools, type Tools } from './lib/tools.js';

const t0 = Date.now();
const say = (line: string) =>
  process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${line}\n`);

async function main(): Promise<number> {
  installCleanup();
  const argv = process.argv.slice(2);
  if (argv.includes('--micro')) return (await import('./micro.js')).runMicro();
  if (argv.includes('--profile')) return (await import('./profile.js')).runProfile(say);
  if (argv.includes('--signin')) {
    build(loadSettings());
    return (await import('./signin.js')).runSignIn(say);
  }
  const s = loadSettings();
  const rows: Row[] = plan(s.scenarios).map((id) => ({
    id,
    label: LABELS[id],
    m: null,
    rounds: [],
    notes: [],
  }));
  const skip = (pred: (id: Row['id']) => boolean, why: string) => {
    for (const r of rows) if (!r.skipped && pred(r.id)) r.skipped = why;
  };
  const active = () => rows.filter((r) => !r.skipped);
  const redisOf = (id: Row['id']) => INSTANCES[SPECS[id].instance ?? 'mem'].redis;

  const tools = findTools(['wrk', 'nginx', 'redisServer'], say);
  if (!tools.wrk) {
    say('wrk is required for every scenario: nothing to measure');
    return 1;
  }
  if (!tools.nginx) skip((id) => id === '2' || SPECS[id].kind.startsWith('forward'), 'nginx not installed');
  if (!tools.redisServer)
    skip((id) => SPECS[id].instance !== undefined && !!redisOf(id), 'redis-server not installed');
  build(s);

  const extra: Record<string, unknown> = {};
  let idp: TestIdp | undefined;
  let grants: ApiGrants | undefined;
  const servers: RunContext['servers'] = {};
  const redis: RunContext['redis'] = {};
  const instances: RunContext['instances'] = new Map();
  try {
    const backend = await startBackend(s);
    servers.backend = backend;
    const body = await (await fetch(`${backend.url}/`)).text();
    say(`backend ${backend.url} (${body.length} B body); results in ${s.runDir}`);
    if (active().some((r) => SPECS[r.id].instance)) {
      ({ idp, grants } = await startBenchIdp());
      say(`test IdP ${idp.issuer}`);
    }
    for (const which of ['main', 'full'] as const) {
      if (!active().some((r) => redisOf(r.id) === which)) continue;
      const server = await startRedis();
      redis[which] = { server, client: server.client() };
      say(`redis-server (${which}) ${server.url}, pid ${server.pid}`);
    }
    const perScenario = s.warmup + s.duration + s.latDuration + s.quietWaitS / 2 + 1.5;
    const measureSeconds = s.rounds * active().length * perScenario;
    const ctx: RunContext = {
      s,
      tools,
      body,
      backend,
      idp,
      ...(grants ? { grants } : {}),
      redis,
      say,
      extra,
      servers,
      instances,
      measureSeconds,
    };

    // Everything up, signed in, filled and verified first; then the rounds interleave the scenarios.
    const ready: Prepared[] = [];
    for (const row of active()) {
      try {
        ready.push(await prepare(ctx, row));
      } catch (err) {
        row.skipped = `failed: ${(err as Error).message.split('\n')[0]}`;
        say(`scenario ${row.id} FAILED: ${(err as Error).stack ?? err}`);
      }
    }
    // With pinning, each authward scenario is also measured beside the bare proxy (measurePaired).
    const bare = s.pin ? ready.find((p) => p.row.id === '3' && !p.row.skipped) : undefined;
    for (let round = 0; round < s.rounds; round++) {
      if (s.rounds > 1) say(`round ${round + 1} of ${s.rounds}`);
      for (const p of rotated(ready, round, s.rounds)) {
        if (p.row.skipped) continue;
        try {
          await p.recheck();
          const m = await measure(p.deps, p.target);
          if (bare && p !== bare && p.target.proxyPid !== undefined && SPECS[p.row.id].instance) {
            m.pairedCpuVs3 = await measurePaired(p.deps, p.target, bare.target);
          }
          p.row.rounds.push(m);
          say(summaryLine(p.row.id, m));
        } catch (err) {
          p.row.skipped = `failed: ${(err as Error).message.split('\n')[0]}`;
          say(`scenario ${p.row.id} FAILED: ${(err as Error).stack ?? err}`);
        }
      }
    }
    for (const row of rows) if (row.rounds.length > 0 && !row.skipped) row.m = combine(row.rounds);
    extra.backendTotals = await backendStats(backend.url);
  } finally {
    for (const inst of instances.values()) await inst.aw.stop();
    for (const srv of Object.values(servers)) await srv?.child.stop();
    for (const r of Object.values(redis)) await r?.server.stop();
    await idp?.close();
  }

  const tables = renderTables(rows);
  const targets = checkTargets(rows);
  const notes = rows.flatMap((r) => r.notes.map((n) => `  ${r.id}: ${n}`));
  const rounds = s.rounds > 1 ? ` (medians of ${s.rounds} rounds)` : '';
  const text = `${tables}\n${notes.length > 0 ? `\nNotes:\n${notes.join('\n')}\n` : ''}\nTargets${rounds}:\n${renderTargets(targets)}\n`;
  process.stdout.write(`\n${text}`);
  const file = join(s.resultsDir, `${s.runId}.json`);
  const seconds = (Date.now() - t0) / 1000;
  const json = {
    runId: s.runId,
    seconds,
    settings: s,
    environment: environment(tools),
    rows,
    targets,
    ...extra,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  say(`wrote ${file} (whole run ${seconds.toFixed(0)} s)`);
  return rows.some((r) => r.skipped?.startsWith('failed')) ? 1 : 0;
}

function build(s: Settings): void {
  if (!needsBuild(s.build)) return;
  say('npm run build (dist/ is older than src/)');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('npm run build failed');
}

function summaryLine(id: string, m: Measurement): string {
  const cpu =
    m.cpuUsPerReq === null
      ? ''
      : `, ${m.cpuUsPerReq.toFixed(0)} µs CPU/req (main thread ${m.mainCpuUsPerReq?.toFixed(0)})`;
  const rss = m.peakRssMiB === null ? '' : `, RSS ${m.peakRssMiB.toFixed(0)} MiB`;
  return `scenario ${id}: ${m.rps.toFixed(0)} req/s, p99 ${m.p99_ms.toFixed(2)} ms, ${m.errors} errors${cpu}${rss}`;
}

function environment(tools: Tools) {
  const version = (cmd: string | undefined, args: string[]) => {
    if (!cmd) return null;
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? null;
  };
  return {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    loadavg: loadavg(),
    wrk: version(tools.wrk, ['-v']),
    nginx: version(tools.nginx, ['-v']),
    redis: version(tools.redisServer, ['--version']),
    bench: BENCH,
  };
}

main().then(
  (code) => {
    process.exitCode = code;
    // Leftover handles (undici pools, the IdP's timers) must not keep a finished run alive.
    setTimeout(() => process.exit(code), 500).unref();
  },
  (err: unknown) => {
    say(`bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
