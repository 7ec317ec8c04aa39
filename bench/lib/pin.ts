// CPU pinning for a measured run (PIN=1, the default on 2 or more cores): the system under test (the
// proxy's process tree; not with an ingress in front, see measure.ts) on the last core, everything else that takes part
// (wrk, the backend, Redis, this driver) on the others, and all of it back on every core afterwards.
//
// Unpinned, the proxy shares two cores with wrk and the backend: how often the scheduler moves it and
// how many requests each wake-up finds waiting then set its CPU per request as much as its own code
// does (the bare proxy itself moved from 100 to 176 µs within one run). Pinned, each system gets one
// core of its own, as a sidecar under a CPU limit does, and the same-run ratios hold to a few percent.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface Pinning {
  /** The cores wrk is started on, as taskset's list ("0" on a 2-core machine). */
  loadCpus: string;
  /** Pins the system under test and the load side; returns the function that unpins them. */
  pin(underTest: readonly number[], loadSide: readonly number[]): () => void;
}

/** Pinning when asked and possible (taskset, 2+ cores), else null: runs are then unpinned as before. */
export function pinning(wanted: boolean): Pinning | null {
  const cores = availableParallelism();
  if (!wanted || cores < 2) return null;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return null; // no taskset (util-linux): unpinned
  }
  const last = String(cores - 1);
  const loadCpus = cores === 2 ? '0' : `0-${cores - 2}`;
  const all = `0-${cores - 1}`;
  const set = (cpus: string, pids: readonly number[]) => {
    for (const pid of pids) {
      try {
        execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
      } catch {
        // the process has exited: nothing to pin
      }
    }
  };
  return {
    loadCpus,
    pin(underTest, loadSide) {
      set(last, underTest);
      set(loadCpus, [...loadSide, process.pid]);
      return () => set(all, [...underTest, ...loadSide, process.pid]);
    },
  };
}
