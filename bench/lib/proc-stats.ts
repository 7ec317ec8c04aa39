// CPU time and memory of process trees from /proc: what one measured load run cost each process.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // getconf missing: Linux's USER_HZ is 100 everywhere that matters.
}

interface Stat {
  ppid: number;
  /** utime, stime and cutime (user time of reaped children), in seconds. */
  user: number;
  sys: number;
  childrenUser: number;
}

function readStat(pid: number, path = `/proc/${pid}/stat`): Stat | null {
  try {
    const raw = readFileSync(path, 'utf8');
    // comm may contain spaces and parentheses: the fields start after the last ')'.
    const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return {
      ppid: Number(f[1]),
      user: Number(f[11]) / clkTck,
      sys: Number(f[12]) / clkTck,
      childrenUser: Number(f[13]) / clkTck,
    };
  } catch {
    return null;
  }
}

/** The pid and all its descendants (nginx: master and workers). */
export function treeOf(root: number): number[] {
  const parents = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (!st) continue;
    const list = parents.get(st.ppid) ?? [];
    list.push(Number(name));
    parents.set(st.ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop() as number;
    out.push(pid);
    todo.push(...(parents.get(pid) ?? []));
  }
  return out;
}

/** CPU seconds (user + system) used so far by the processes. */
export function cpuSeconds(pids: readonly number[]): { user: number; total: number } {
  let user = 0;
  let total = 0;
  for (const pid of pids) {
    const st = readStat(pid);
    if (!st) continue;
    user += st.user;
    total += st.user + st.sys;
  }
  return { user, total };
}

/** CPU seconds (user + system) of the processes' main threads alone (the event loop: thread id = pid). */
export function mainThreadSeconds(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    const st = readStat(pid, `/proc/${pid}/task/${pid}/stat`);
    if (st) total += st.user + st.sys;
  }
  return total;
}

/** User CPU seconds of this process and of its reaped children (wrk, once it has exited). */
export function selfAndReapedUserSeconds(): number {
  const st = readStat(process.pid);
  return st ? st.user + st.childrenUser : 0;
}

/** Machine-wide user CPU seconds (all cores), for the share used by processes that are not ours. */
export function machineUserSeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/) ?? [];
  return (Number(f[1]) + Number(f[2])) / clkTck;
}

export function rssKiB(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) sum += Number(m[1]);
    } catch {
      // Gone.
    }
  }
  return sum;
}

/** Samples the summed RSS of some process trees every intervalMs; peak() is the maximum seen. */
export class RssSampler {
  private peakKiB = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: readonly number[],
    intervalMs: number,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    this.peakKiB = Math.max(this.peakKiB, rssKiB(this.pids));
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peakKiB;
  }
}
