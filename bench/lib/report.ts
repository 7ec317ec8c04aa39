// The results: one table, ratios to the bare proxy (3) and direct access (1) of the same run, and the targets.
import type { Measurement } from './measure.js';
import type { ScenarioId } from './settings.js';

export const LABELS: Record<ScenarioId, string> = {
  '1': 'backend directly',
  '2': 'nginx reverse proxy',
  '3': 'fastify + @fastify/http-proxy',
  '4': 'authward, public route',
  '5': 'authward, session, memory cache',
  '6': 'authward, session, Redis cache',
  '7': 'authward, bearer route, Redis, L1 hit',
  '7m': 'authward, bearer route, memory, L1 hit',
  '8': 'authward, bearer route, Redis, no L1',
  '8u': '8, many sessions round-robin',
  '9a': '6 + 100k accounts in Redis',
  '9b': '7 + 100k accounts in Redis',
  '10': '7m, many sessions round-robin',
  '11a': 'authward, API client bearer, memory',
  '11b': 'authward, API client, OBO route, Redis',
  '12a': 'nginx auth_request + authward verify',
  '12b': '12a, forwardAuth token route',
};

export interface Row {
  id: ScenarioId;
  label: string;
  /** The rounds combined (medians), and each round. */
  m: Measurement | null;
  rounds: Measurement[];
  /** Why it was not measured. */
  skipped?: string;
  notes: string[];
}

const f = (v: number | null | undefined, digits = 0) =>
  v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const median = (xs: number[]) => {
  const v = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
};

type Pick = (m: Measurement) => number | null | undefined;

/** x against base, round by round (each round ran both close in time), the median over rounds. */
function paired(x: Row | undefined, base: Row | undefined, f: Pick, op: (a: number, b: number) => number) {
  if (!x?.m || !base?.m) return null;
  const out: number[] = [];
  for (let i = 0; i < Math.min(x.rounds.length, base.rounds.length); i++) {
    const a = f(x.rounds[i] as Measurement);
    const b = f(base.rounds[i] as Measurement);
    if (typeof a === 'number' && typeof b === 'number' && b !== 0) out.push(op(a, b));
  }
  return out.length > 0 ? median(out) : null;
}
const ratio = (x: Row | undefined, base: Row | undefined, f: Pick) => paired(x, base, f, (a, b) => a / b);
const added = (x: Row | undefined, base: Row | undefined, f: Pick) => paired(x, base, f, (a, b) => a - b);

export function ratios(rows: Row[]) {
  const bare = rows.find((r) => r.id === '3');
  const direct = rows.find((r) => r.id === '1');
  return (r: Row) => ({
    rpsVs3: ratio(r, bare, (m) => m.rps),
    cpuVs3: ratio(r, bare, (m) => m.cpuUsPerReq),
    rpsVs1: ratio(r, direct, (m) => m.rps),
    p99AddedVs3: added(r, bare, (m) => m.p99_ms),
    lat1P50AddedVs3: added(r, bare, (m) => m.lat1?.p50_ms),
    lat1P99AddedVs3: added(r, bare, (m) => m.lat1?.p99_ms),
  });
}

export function renderTables(rows: Row[]): string {
  const against = ratios(rows);
  const main = rows.map((r) => {
    const x = r.m;
    const q = against(r);
    if (!x) return [r.id, r.label, `skipped: ${r.skipped ?? '?'}`];
    return [
      r.id,
      r.label,
      f(x.rps),
      f(x.p50_ms, 2),
      f(x.p99_ms, 2),
      f(x.max_ms, 1),
      String(x.errors),
      f(x.peakRssMiB, 0),
      f(x.cpuUsPerReq, 0),
      f(q.rpsVs3, 2),
      f(q.cpuVs3, 2),
      f(x.pairedCpuVs3, 2),
      f(q.rpsVs1, 2),
      f(x.lat1?.p50_ms, 2),
      f(x.lat1?.p99_ms, 2),
    ];
  });
  const details = rows
    .filter((r) => r.m)
    .map((r) => {
      const x = r.m as Measurement;
      const q = against(r);
      return [
        r.id,
        r.label,
        f(x.cpuPct, 0),
        f(x.backendHitsPerReq, 3),
        String(x.newBackendConns),
        f(x.redisUsPerReq, 1),
        f(x.redisCallsPerReq, 3),
        f(q.p99AddedVs3, 2),
        f(q.lat1P50AddedVs3, 3),
        f(q.lat1P99AddedVs3, 3),
        f(x.frontCpuUsPerReq, 0),
        f(x.otherPct, 0),
      ];
    });
  return [
    table(
      [
        '#',
        'scenario',
        'req/s',
        'p50 ms',
        'p99 ms',
        'max ms',
        'errors',
        'RSS MiB',
        'CPU µs/req',
        'req/s ÷3',
        'CPU ÷3',
        'CPU ÷3 paired',
        'req/s ÷1',
        'c1 p50',
        'c1 p99',
      ],
      main,
    ),
    '',
    table(
      [
        '#',
        'scenario',
        'proxy CPU %',
        'backend hits/req',
        'new upstream conns',
        'redis µs/req',
        'redis calls/req',
        'p99 +ms vs 3',
        'c1 p50 +ms vs 3',
        'c1 p99 +ms vs 3',
        'ingress CPU µs/req',
        'other tenants %',
      ],
      details,
    ),
  ].join('\n');
}

export interface TargetCheck {
  target: string;
  met: boolean | null;
  figures: string;
}

export function checkTargets(rows: Row[]): TargetCheck[] {
  const row = (id: ScenarioId) => rows.find((r) => r.id === id && r.m);
  const out: TargetCheck[] = [];
  const add = (target: string, met: boolean | null, figures: string) => out.push({ target, met, figures });
  const bare = row('3');
  // With several rounds the ratio is the median of per-round ratios, not the ratio of the medians shown.
  const vs = (x: Row, base: Row, f: Pick, unit: string, digits = 0) =>
    `${f(x.m as Measurement)?.toFixed(digits)} vs ${f(base.m as Measurement)?.toFixed(digits)} ${unit}${x.rounds.length > 1 ? ' (medians), per-round ratio' : ''}`;
  for (const id of ['5', '7'] as const) {
    const x = row(id);
    if (!x || !bare) {
      add(`${id}: against 3`, null, 'not measured');
      continue;
    }
    const r = ratio(x, bare, (m) => m.rps) as number;
    add(`${id}: req/s >= 0.85x of 3`, r >= 0.85, `${vs(x, bare, (m) => m.rps, 'req/s')} = ${f(r, 2)}x`);
    const c = ratio(x, bare, (m) => m.cpuUsPerReq);
    add(
      `${id}: CPU µs/req <= 1.15x of 3`,
      c === null ? null : c <= 1.15,
      `${vs(x, bare, (m) => m.cpuUsPerReq, 'µs')} = ${f(c, 2)}x`,
    );
    const paired = x.m?.pairedCpuVs3 ?? null;
    add(
      `${id}: CPU ÷ bare, paired (measurePaired), <= ${id === '5' ? '1.10' : '1.15'}x`,
      paired === null ? null : paired <= (id === '5' ? 1.1 : 1.15),
      paired === null ? 'not measured (PIN=0 or one core)' : `median of per-round ratios ${f(paired, 2)}x`,
    );
    const p50 = added(x, bare, (m) => m.lat1?.p50_ms);
    const p99 = added(x, bare, (m) => m.lat1?.p99_ms);
    const loaded = added(x, bare, (m) => m.p99_ms);
    add(
      `${id}: p99 added <= 1 ms`,
      p99 === null ? null : p99 <= 1,
      `one connection: p99 ${f(p99, 3)} ms (p50 ${f(p50, 3)} ms); under load: p99 ${f(loaded, 2)} ms`,
    );
  }
  const s8 = row('8');
  if (s8 && bare) {
    const r = ratio(s8, bare, (m) => m.rps) as number;
    add('8: req/s >= 0.7x of 3', r >= 0.7, `${vs(s8, bare, (m) => m.rps, 'req/s')} = ${f(r, 2)}x`);
  } else add('8: req/s >= 0.7x of 3', null, 'not measured');
  for (const [big, base] of [
    ['9a', '6'],
    ['9b', '7'],
  ] as const) {
    const x = row(big);
    const y = row(base);
    const r = x && y ? ratio(x, y, (m) => m.rps) : null;
    add(
      `${big}: within 5% of ${base}`,
      r === null ? null : Math.abs(1 - r) <= 0.05,
      x && y ? `${vs(x, y, (m) => m.rps, 'req/s')} = ${f(r, 3)}x` : 'not measured',
    );
  }
  /** x's figure against base's (per-round ratio), met when `ok` holds for it. */
  const against = (
    label: string,
    x: Row | undefined,
    base: Row | undefined,
    pick: Pick,
    unit: string,
    ok: (r: number) => boolean,
  ) => {
    const r = x && base ? ratio(x, base, pick) : null;
    add(
      label,
      r === null ? null : ok(r),
      x && base ? `${vs(x, base, pick, unit)} = ${f(r, 2)}x` : 'not measured',
    );
  };
  const cpu: Pick = (m) => m.cpuUsPerReq;
  // Issue 14: an API client costs what a browser with the same shape does (11a ~ 5, 11b ~ 7).
  against('11a: CPU µs/req <= 1.1x of 5', row('11a'), row('5'), cpu, 'µs', (r) => r <= 1.1);
  against('11b: CPU µs/req <= 1.1x of 7', row('11b'), row('7'), cpu, 'µs', (r) => r <= 1.1);
  // Issue 15: nginx carries the bytes, authward answers the subrequest (CPU: authward's process only).
  for (const id of ['12a', '12b'] as const) {
    against(
      `${id}: req/s >= 1.0x of 3`,
      row(id),
      bare,
      (m) => m.rps,
      'req/s',
      (r) => r >= 1,
    );
    against(`${id}: verify CPU µs/req <= 0.6x of 3`, row(id), bare, cpu, 'µs', (r) => r <= 0.6);
  }
  add(
    '12a/12b: req/s >= 3x Apache + mod_auth_openidc + Redis',
    null,
    'measured by the anchor rig (../shared/bench/anchors.sh), not here',
  );
  const s10 = row('10')?.m;
  add(
    // Issue 18: 10,000 users in memory mode within 200 MiB (150 MiB is the Redis cache's goal).
    '10: peak RSS <= 200 MiB',
    s10?.peakRssMiB ? s10.peakRssMiB <= 200 : null,
    s10?.peakRssMiB ? `${f(s10.peakRssMiB)} MiB` : 'not measured',
  );
  return out;
}

export function renderTargets(checks: TargetCheck[]): string {
  return checks
    .map((c) => `${c.met === null ? '  n/a  ' : c.met ? '  met  ' : 'NOT met'}  ${c.target}: ${c.figures}`)
    .join('\n');
}
