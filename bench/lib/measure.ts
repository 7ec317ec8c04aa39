// One scenario under load: warm-up, a measured wrk run with the proxy's CPU and RSS read from /proc, a latency run.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { backendStats } from './peers.js';
import { type Pinning, pinning } from './pin.js';
import {
  cpuSeconds,
  machineUserSeconds,
  mainThreadSeconds,
  RssSampler,
  selfAndReapedUserSeconds,
  treeOf,
} from './proc-stats.js';
import type { Settings } from './settings.js';
import { runWrk, type WrkResult, wrkErrors } from './wrk.js';

export interface LoadTarget {
  /** Full URL wrk requests. */
  url: string;
  /** Root pid of the proxy's process tree (nginx: the master); undefined for direct access. */
  proxyPid?: number;
  headers?: string[];
  /** An ingress in front of the proxy (12a/12b: nginx asking authward): its CPU is reported apart. */
  frontPid?: number;
  /** lua/cookies.lua with its arguments instead of lua/report.lua. */
  cookieScript?: { script: string; args: string[] };
}

export interface Measurement {
  rps: number;
  requests: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
  wrk: WrkResult;
  /** Peak RSS of the proxy's process tree over warm-up and measured run. */
  peakRssMiB: number | null;
  /** The proxy's user + system CPU over the measured run, per request and in % of one core. */
  cpuUsPerReq: number | null;
  /** The same for the proxy's main threads alone (the event loop; the rest is GC helpers, thread pool). */
  mainCpuUsPerReq: number | null;
  /** CPU per request ÷ the bare proxy's, both loaded at once on one shared core (measurePaired). */
  pairedCpuVs3?: number | null;
  cpuPct: number | null;
  /** The ingress's (frontPid's tree) user + system CPU per request; null without one. */
  frontCpuUsPerReq: number | null;
  /** Backend requests per wrk request (>= 1: every counted response came from the backend). */
  backendHitsPerReq: number;
  newBackendConns: number;
  redisUsPerReq: number | null;
  redisCallsPerReq: number | null;
  /** User CPU of processes that are not this run's, in % of one core (other tenants of the machine). */
  otherPct: number;
  /** One connection, one thread: latency without queueing. */
  lat1: { rps: number; p50_ms: number; p99_ms: number; max_ms: number; errors: number } | null;
}

export interface MeasureDeps {
  settings: Settings;
  wrk: string;
  reportScript: string;
  backendUrl: string;
  backendPid: number;
  redis?: { pid: number; client: Redis };
}

async function redisCommands(client: Redis): Promise<number> {
  const info = await client.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
}

/** Waits (at most quietWaitS) until other processes use less than 30 % of a core. */
async function waitQuiet(maxS: number): Promise<void> {
  const deadline = Date.now() + maxS * 1000;
  while (Date.now() < deadline) {
    const m0 = machineUserSeconds();
    const s0 = selfAndReapedUserSeconds();
    await sleep(500);
    if ((machineUserSeconds() - m0 - (selfAndReapedUserSeconds() - s0)) / 0.5 < 0.3) return;
  }
}

let pins: Pinning | null | undefined;

/** One wrk run against a target (its script, headers and cookie list), on `cpus` when pinned. */
const load = (
  d: MeasureDeps,
  t: LoadTarget,
  seconds: number,
  threads: number,
  conns: number,
  cpus?: string,
) =>
  runWrk({
    wrk: d.wrk,
    url: t.url,
    threads,
    conns,
    seconds,
    script: t.cookieScript?.script ?? d.reportScript,
    ...(t.cookieScript ? { scriptArgs: t.cookieScript.args } : {}),
    ...(t.headers ? { headers: t.headers } : {}),
    cpus,
  });

/** What takes part in a run besides the proxy and wrk: pinned with the load. */
const loadSide = (d: MeasureDeps) => [d.backendPid, ...(d.redis ? [d.redis.pid] : [])];

export async function measure(d: MeasureDeps, t: LoadTarget): Promise<Measurement> {
  const s = d.settings;
  // (listen.workers > 1 is measured unpinned: its point is more than one core.)
  pins ??= pinning(s.pin && s.workers === 1);
  const cpus = t.frontPid === undefined ? pins?.loadCpus : undefined;
  const wrkRun = (seconds: number, threads: number, conns: number) =>
    load(d, t, seconds, threads, conns, cpus);
  await waitQuiet(s.quietWaitS);
  const proxyPids = t.proxyPid === undefined ? [] : treeOf(t.proxyPid);
  const frontPids = t.frontPid === undefined ? [] : treeOf(t.frontPid);
  // (With an ingress in front, 12a/12b, nothing is pinned: two processes on one core would switch per
  // request, each subrequest a round trip between them, and neither share its core in production.)
  const unpin = t.frontPid === undefined ? pins?.pin(proxyPids, loadSide(d)) : undefined;
  const sampler = proxyPids.length > 0 ? new RssSampler(proxyPids, s.sampleMs) : undefined;
  if (s.warmup > 0) await wrkRun(s.warmup, s.threads, s.conns);

  const ours = [...proxyPids, ...frontPids, d.backendPid, ...(d.redis ? [d.redis.pid] : [])];
  const before = {
    at: process.hrtime.bigint(),
    proxy: cpuSeconds(proxyPids),
    proxyMain: mainThreadSeconds(proxyPids),
    front: cpuSeconds(frontPids).total,
    all: cpuSeconds(ours).user,
    self: selfAndReapedUserSeconds(),
    machine: machineUserSeconds(),
    redis: d.redis ? cpuSeconds([d.redis.pid]).total : 0,
    redisCalls: d.redis ? await redisCommands(d.redis.client) : 0,
    backend: await backendStats(d.backendUrl),
  };
  const w = await wrkRun(s.duration, s.threads, s.conns);
  const wall = Number(process.hrtime.bigint() - before.at) / 1e9;
  const proxyCpu = cpuSeconds(proxyPids).total - before.proxy.total;
  const proxyMainCpu = mainThreadSeconds(proxyPids) - before.proxyMain;
  const frontCpu = cpuSeconds(frontPids).total - before.front;
  const otherUser =
    machineUserSeconds() -
    before.machine -
    (cpuSeconds(ours).user - before.all) -
    (selfAndReapedUserSeconds() - before.self);
  const redisCpu = d.redis ? cpuSeconds([d.redis.pid]).total - before.redis : 0;
  // The first INFO is itself counted in the second one.
  const redisCalls = d.redis ? (await redisCommands(d.redis.client)) - before.redisCalls - 1 : 0;
  const backend = await backendStats(d.backendUrl);
  const peak = sampler?.stop();

  let lat1: Measurement['lat1'] = null;
  if (s.latDuration > 0) {
    const l = await wrkRun(s.latDuration, 1, 1);
    lat1 = { rps: l.rps, p50_ms: l.p50_ms, p99_ms: l.p99_ms, max_ms: l.lat_max_ms, errors: wrkErrors(l) };
  }
  unpin?.();
  const perReq = (sec: number) => (w.requests > 0 ? (sec * 1e6) / w.requests : null);
  return {
    rps: w.rps,
    requests: w.requests,
    p50_ms: w.p50_ms,
    p90_ms: w.p90_ms,
    p99_ms: w.p99_ms,
    max_ms: w.lat_max_ms,
    errors: wrkErrors(w),
    wrk: w,
    peakRssMiB: peak === undefined ? null : peak / 1024,
    cpuUsPerReq: proxyPids.length > 0 ? perReq(proxyCpu) : null,
    mainCpuUsPerReq: proxyPids.length > 0 ? perReq(proxyMainCpu) : null,
    cpuPct: proxyPids.length > 0 ? (proxyCpu / wall) * 100 : null,
    frontCpuUsPerReq: frontPids.length > 0 ? perReq(frontCpu) : null,
    backendHitsPerReq: w.requests > 0 ? (backend.requests - before.backend.requests) / w.requests : 0,
    newBackendConns: backend.connections - before.backend.connections,
    redisUsPerReq: d.redis ? perReq(redisCpu) : null,
    redisCallsPerReq: d.redis && w.requests > 0 ? Math.max(0, redisCalls) / w.requests : null,
    otherPct: Math.max(0, (otherUser / wall) * 100),
    lat1,
  };
}

/**
 * The CPU per request of `t` ÷ the bare proxy's (`bare`), measured together: both proxies on the same
 * core, each under its own wrk on the other cores, for one DURATION. Sequential runs compare two
 * moments of a machine whose speed moves between them (the bare proxy from 76 to 117 µs a request
 * within one run); a pair shares every moment, so its ratio moves far less. Null without pinning.
 */
export async function measurePaired(d: MeasureDeps, t: LoadTarget, bare: LoadTarget): Promise<number | null> {
  const s = d.settings;
  pins ??= pinning(s.pin && s.workers === 1);
  if (!pins || t.proxyPid === undefined || bare.proxyPid === undefined || t.frontPid !== undefined) {
    return null; // (an ingress in front: see measure)
  }
  const both = (seconds: number) =>
    Promise.all([t, bare].map((x) => load(d, x, seconds, s.threads, s.conns, pins?.loadCpus)));
  await waitQuiet(s.quietWaitS);
  const mine = treeOf(t.proxyPid);
  const theirs = treeOf(bare.proxyPid);
  const unpin = pins.pin([...mine, ...theirs], loadSide(d));
  try {
    if (s.warmup > 0) await both(s.warmup);
    const before = [cpuSeconds(mine).total, cpuSeconds(theirs).total];
    const [a, b] = (await both(s.duration)) as [WrkResult, WrkResult];
    const perReq = (cpu: number, w: WrkResult) => (w.requests > 0 ? cpu / w.requests : Number.NaN);
    const ratio =
      perReq(cpuSeconds(mine).total - (before[0] as number), a) /
      perReq(cpuSeconds(theirs).total - (before[1] as number), b);
    return Number.isFinite(ratio) && wrkErrors(a) === 0 && wrkErrors(b) === 0 ? ratio : null;
  } finally {
    unpin();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** Rounds combined: the median of every figure, except peak RSS (the maximum) and errors (the sum). */
export function combine(rounds: Measurement[]): Measurement {
  if (rounds.length === 1) return rounds[0] as Measurement;
  const med = (f: (m: Measurement) => number | null | undefined) => {
    const xs = rounds.map(f).filter((x): x is number => typeof x === 'number');
    return xs.length > 0 ? median(xs) : null;
  };
  const byRps = [...rounds].sort((a, b) => a.rps - b.rps);
  const lat1 = rounds.every((r) => r.lat1)
    ? {
        rps: med((r) => r.lat1?.rps) as number,
        p50_ms: med((r) => r.lat1?.p50_ms) as number,
        p99_ms: med((r) => r.lat1?.p99_ms) as number,
        max_ms: Math.max(...rounds.map((r) => r.lat1?.max_ms ?? 0)),
        errors: rounds.reduce((n, r) => n + (r.lat1?.errors ?? 0), 0),
      }
    : null;
  const peaks = rounds.map((r) => r.peakRssMiB).filter((x): x is number => x !== null);
  return {
    rps: med((r) => r.rps) as number,
    requests: rounds.reduce((n, r) => n + r.requests, 0),
    p50_ms: med((r) => r.p50_ms) as number,
    p90_ms: med((r) => r.p90_ms) as number,
    p99_ms: med((r) => r.p99_ms) as number,
    max_ms: Math.max(...rounds.map((r) => r.max_ms)),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    wrk: (byRps[Math.floor(byRps.length / 2)] as Measurement).wrk,
    peakRssMiB: peaks.length > 0 ? Math.max(...peaks) : null,
    cpuUsPerReq: med((r) => r.cpuUsPerReq),
    mainCpuUsPerReq: med((r) => r.mainCpuUsPerReq),
    pairedCpuVs3: med((r) => r.pairedCpuVs3),
    cpuPct: med((r) => r.cpuPct),
    frontCpuUsPerReq: med((r) => r.frontCpuUsPerReq),
    backendHitsPerReq: Math.min(...rounds.map((r) => r.backendHitsPerReq)),
    newBackendConns: rounds.reduce((n, r) => n + r.newBackendConns, 0),
    redisUsPerReq: med((r) => r.redisUsPerReq),
    redisCallsPerReq: med((r) => r.redisCallsPerReq),
    otherPct: med((r) => r.otherPct) as number,
    lat1,
  };
}
