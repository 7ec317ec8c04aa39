// npm run bench: authward beside direct access, nginx and the bare Fastify proxy, in one run, on loopback.
//
//   npm run bench                 the scenarios (SCENARIOS, DURATION, CONNS, THREADS, USERS, ...: bench/README.md)
//   npm run bench -- --micro      per-request pieces in-process (bench/micro.ts)
//   npm run bench -- --profile    node --cpu-prof on authward under scenario 7 (bench/profile.ts)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { startIdp, type TestIdp } from '../test/helpers/idp.js';
import { startRedis, type TestRedis } from '../test/helpers/redis.js';
import { type Authward, needsBuild } from './lib/authward.js';
import type { Measurement } from './lib/measure.js';
import { backendStats, type Server, startBackend } from './lib/peers.js';
import { installCleanup } from './lib/procs.js';
import { checkTargets, LABELS, type Row, renderTables, renderTargets } from './lib/report.js';
import { runScenario, type Session } from './lib/scenario-run.js';
import { type InstanceName, lastUse, plan, SPECS } from './lib/scenarios.js';
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
  const s = loadSettings();
  const planned = plan(s.scenarios);
  const rows: Row[] = planned.map((id) => ({ id, label: LABELS[id], m: null, notes: [] }));
  const skip = (pred: (id: Row['id']) => boolean, why: string) => {
    for (const r of rows) if (!r.m && !r.skipped && pred(r.id)) r.skipped = why;
  };

  const tools = findTools(['wrk', 'nginx', 'redisServer'], say);
  if (!tools.wrk) {
    say('wrk is required for every scenario: nothing to measure');
    return 1;
  }
  if (!tools.nginx) skip((id) => id === '2', 'nginx not installed');
  if (!tools.redisServer)
    skip((id) => SPECS[id].instance?.startsWith('redis') === true, 'redis-server not installed');
  build(s);

  const extra: Record<string, unknown> = {};
  let idp: TestIdp | undefined;
  let redis: TestRedis | undefined;
  const servers: Partial<Record<'backend' | 'nginx' | 'bare', Server>> = {};
  const instances = new Map<InstanceName, { aw: Authward; session: Session }>();
  try {
    const backend = await startBackend(s);
    servers.backend = backend;
    const body = await (await fetch(`${backend.url}/`)).text();
    say(`backend ${backend.url} (${body.length} B body); results in ${s.runDir}`);
    const wantsAuthward = rows.some((r) => !r.skipped && SPECS[r.id].instance);
    if (wantsAuthward) {
      idp = await startIdp({ apiScopes: ['api://bench/read'] });
      say(`test IdP ${idp.issuer}`);
    }
    if (rows.some((r) => !r.skipped && SPECS[r.id].instance?.startsWith('redis'))) {
      redis = await startRedis();
      say(`redis-server ${redis.url} (pid ${redis.pid})`);
    }
    const redisClient = redis?.client();
    const ctx = { s, tools, body, backend, idp, redis, redisClient, say, extra, servers, instances };

    for (const [i, row] of rows.entries()) {
      if (row.skipped) continue;
      try {
        row.m = await runScenario(ctx, row);
        say(summaryLine(row.id, row.m));
      } catch (err) {
        row.skipped = `failed: ${(err as Error).message.split('\n')[0]}`;
        say(`scenario ${row.id} FAILED: ${(err as Error).stack ?? err}`);
      }
      for (const [name, inst] of instances) {
        if (lastUse(planned, name) <= i) {
          await inst.aw.stop();
          instances.delete(name);
        }
      }
    }
    extra.backendTotals = await backendStats(backend.url);
  } finally {
    for (const inst of instances.values()) await inst.aw.stop();
    for (const srv of Object.values(servers)) await srv?.child.stop();
    await redis?.stop();
    await idp?.close();
  }

  const tables = renderTables(rows);
  const targets = checkTargets(rows);
  const notes = rows.flatMap((r) => r.notes.map((n) => `  ${r.id}: ${n}`));
  const text = `${tables}\n${notes.length > 0 ? `\nNotes:\n${notes.join('\n')}\n` : ''}\nTargets:\n${renderTargets(targets)}\n`;
  process.stdout.write(`\n${text}`);
  const file = join(s.resultsDir, `${s.runId}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ runId: s.runId, seconds: (Date.now() - t0) / 1000, settings: s, environment: environment(tools), rows, targets, ...extra }, null, 2)}\n`,
  );
  say(`wrote ${file} (whole run ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  return rows.some((r) => r.skipped?.startsWith('failed')) ? 1 : 0;
}

function build(s: Settings): void {
  if (!needsBuild(s.build)) return;
  say('npm run build (dist/ is older than src/)');
  const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error('npm run build failed');
}

function summaryLine(id: string, m: Measurement): string {
  const cpu = m.cpuUsPerReq === null ? '' : `, ${m.cpuUsPerReq.toFixed(0)} µs CPU/req`;
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
