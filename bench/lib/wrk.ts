// One wrk run: the command line, its JSON report line (lua/report.lua or lua/cookies.lua) parsed.
import { spawn } from 'node:child_process';

export interface WrkResult {
  requests: number;
  duration_s: number;
  rps: number;
  bytes: number;
  lat_mean_ms: number;
  lat_max_ms: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  p999_ms: number;
  err_connect: number;
  err_read: number;
  err_write: number;
  err_status: number;
  err_timeout: number;
}

export interface WrkOptions {
  wrk: string;
  url: string;
  threads: number;
  conns: number;
  seconds: number;
  script: string;
  /** Arguments after "--" (cookies.lua: the cookie file and the path). */
  scriptArgs?: string[];
  headers?: string[];
  /** Cores to run wrk on (taskset's list; bench/lib/pin.ts), or all. */
  cpus?: string | undefined;
}

export function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${o.threads}`,
    `-c${Math.max(o.conns, o.threads)}`,
    `-d${o.seconds}s`,
    '--latency',
    '--timeout',
    '10s',
    '-s',
    o.script,
    ...(o.headers ?? []).flatMap((h) => ['-H', h]),
    o.url,
    ...(o.scriptArgs ? ['--', ...o.scriptArgs] : []),
  ];
  return new Promise((resolve, reject) => {
    const [cmd, argv] = o.cpus ? ['taskset', ['-c', o.cpus, o.wrk, ...args]] : [o.wrk, args];
    const proc = spawn(cmd as string, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.on('error', reject);
    proc.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('WRK_JSON '));
      if (code !== 0 || !line) {
        reject(new Error(`wrk exited ${code}:\n${out.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(line.slice('WRK_JSON '.length)) as WrkResult);
    });
  });
}

/** Socket-level errors plus responses with status >= 400 (wrk's "Non-2xx or 3xx"). */
export const wrkErrors = (r: WrkResult) =>
  r.err_connect + r.err_read + r.err_write + r.err_timeout + r.err_status;
