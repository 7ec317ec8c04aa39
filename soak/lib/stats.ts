// Latency and error bookkeeping of a soak run: per request kind, per 10 s interval, and whole-run percentiles.

export const KINDS = ['upstream', 'token', 'public', 'me', 'sign-in', 'sign-out'] as const;
export type Kind = (typeof KINDS)[number];

export interface Failure {
  kind: Kind;
  /** Seconds since the load started. */
  at: number;
  what: string;
}

export class Stats {
  private readonly all = new Map<Kind, number[]>();
  private interval: number[] = [];
  private intervalCount = 0;
  readonly failures: Failure[] = [];
  private started = performance.now();

  constructor() {
    for (const k of KINDS) this.all.set(k, []);
  }

  /** Restarts the clock (the load starts now) and forgets the interval so far. */
  startClock(): void {
    this.started = performance.now();
    this.takeInterval();
  }

  /** Seconds since the load started. */
  now(): number {
    return (performance.now() - this.started) / 1000;
  }

  ok(kind: Kind, ms: number): void {
    this.all.get(kind)?.push(ms);
    if (kind !== 'sign-in' && kind !== 'sign-out') this.interval.push(ms);
    this.intervalCount++;
  }

  fail(kind: Kind, what: string): void {
    this.failures.push({ kind, at: this.now(), what });
    this.intervalCount++;
  }

  /** Latencies of proxied requests and the count of everything since the last call. */
  takeInterval(): { latencies: number[]; count: number } {
    const out = { latencies: this.interval, count: this.intervalCount };
    this.interval = [];
    this.intervalCount = 0;
    return out;
  }

  latencies(kind: Kind): number[] {
    return this.all.get(kind) ?? [];
  }
}

/** The p-th percentile (0..100) of values, nearest rank; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = values.toSorted((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Least-squares slope of y over x. */
export function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
