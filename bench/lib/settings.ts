// Run settings from the environment (defaults keep a full run under 5 minutes) and the repository's paths.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// This file runs from .bench-build/bench/lib/: the checkout is three levels up.
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BENCH = join(ROOT, 'bench');

const num = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v.replace(/s$/, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: expected a non-negative number`);
  return n;
};

export const ALL_SCENARIOS = [
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9a',
  '9b',
  '10',
  '11a',
  '11b',
  '12a',
  '12b',
] as const;
/**
 * Not in the default set: 7m is 7 with the memory token cache (10's single-session twin); 8u is 8
 * with USERS_8U sessions round-robin, so concurrent requests cannot share one in-flight store read.
 */
export const EXTRA_SCENARIOS = ['7m', '8u'] as const;
export type ScenarioId = (typeof ALL_SCENARIOS)[number] | (typeof EXTRA_SCENARIOS)[number];

function scenarios(): ScenarioId[] {
  const raw = process.env.SCENARIOS?.trim();
  if (!raw) return [...ALL_SCENARIOS];
  const known = new Set<string>([...ALL_SCENARIOS, ...EXTRA_SCENARIOS]);
  const picked = raw.split(/[\s,]+/).filter(Boolean);
  const bad = picked.filter((s) => !known.has(s));
  if (bad.length > 0)
    throw new Error(`SCENARIOS: unknown ${bad.join(', ')} (known: ${[...known].join(' ')})`);
  return picked as ScenarioId[];
}

export interface Settings {
  duration: number;
  warmup: number;
  /** Each round measures every scenario once, in a rotated order; the report takes medians. */
  rounds: number;
  /** Latency run at one connection (0: skipped). */
  latDuration: number;
  threads: number;
  conns: number;
  scenarios: ScenarioId[];
  users: number;
  users8u: number;
  /** Seconds for the sign-ins of 10 (and 8u); undefined: what is left of RUN_BUDGET_S. */
  usersBudgetS: number | undefined;
  /** The whole run's target (the driver's own time; the tsc compile before it is not counted). */
  runBudgetS: number;
  signInConcurrency: number;
  /** Worker threads for the browsers of many sign-ins (the IdP keeps the main thread); 0: none. */
  signInThreads: number;
  accounts: number;
  bodyBytes: number;
  sampleMs: number;
  quietWaitS: number;
  /** The system under test on a core of its own, the load on the others (bench/lib/pin.ts). */
  pin: boolean;
  logLevel: string;
  /** listen.workers of the Redis-cache instances (the memory ones always run one process). */
  workers: number;
  build: 'auto' | 'always' | 'never';
  runId: string;
  runDir: string;
  resultsDir: string;
}

export function loadSettings(): Settings {
  const runId =
    process.env.RUN_ID ??
    new Date()
      .toISOString()
      .replace(/[:.]/g, '-')
      .replace(/-\d{3}Z$/, 'Z');
  const resultsDir = process.env.RESULTS_DIR ?? join(BENCH, 'results');
  const runDir = join(resultsDir, runId);
  mkdirSync(runDir, { recursive: true });
  const build = process.env.BENCH_BUILD ?? 'auto';
  if (build !== 'auto' && build !== 'always' && build !== 'never')
    throw new Error(`BENCH_BUILD=${build}: auto, always or never`);
  return {
    duration: num('DURATION', 8),
    warmup: num('WARMUP', 2),
    rounds: Math.max(1, Math.round(num('ROUNDS', 1))),
    latDuration: num('LAT_DURATION', 2),
    threads: num('THREADS', 2),
    conns: num('CONNS', 64),
    scenarios: scenarios(),
    users: num('USERS', 10_000),
    users8u: num('USERS_8U', 200),
    usersBudgetS: process.env.USERS_BUDGET_S ? num('USERS_BUDGET_S', 60) : undefined,
    runBudgetS: num('RUN_BUDGET_S', 270),
    signInConcurrency: Math.max(1, num('SIGNIN_CONCURRENCY', 16)),
    signInThreads: Math.round(num('SIGNIN_THREADS', 2)),
    accounts: num('ACCOUNTS', 100_000),
    bodyBytes: num('BODY_BYTES', 1024),
    sampleMs: num('SAMPLE_MS', 200),
    quietWaitS: num('QUIET_WAIT_S', 2),
    pin: process.env.PIN !== '0',
    logLevel: process.env.LOG_LEVEL ?? 'warn',
    workers: Math.max(1, Math.round(num('WORKERS', 1))),
    build,
    runId,
    runDir,
    resultsDir,
  };
}
