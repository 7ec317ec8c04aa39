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
};

export interface Row {
  id: ScenarioId;
  label: string;
  m: Measurement | null;
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

export function ratios(rows: Row[]) {
  const m = (id: ScenarioId) => rows.find((r) => r.id === id)?.m ?? null;
  const bare = m('3');
  const direct = m('1');
  return (r: Row) => {
    const x = r.m;
    return {
      rpsVs3: x && bare ? x.rps / bare.rps : null,
      cpuVs3: x?.cpuUsPerReq && bare?.cpuUsPerReq ? x.cpuUsPerReq / bare.cpuUsPerReq : null,
      rpsVs1: x && direct ? x.rps / direct.rps : null,
      p99AddedVs3: x && bare ? x.p99_ms - bare.p99_ms : null,
      lat1P99AddedVs3: x?.lat1 && bare?.lat1 ? x.lat1.p99_ms - bare.lat1.p99_ms : null,
    };
  };
}

export function renderTables(rows: Row[]): string {
  const ratio = ratios(rows);
  const main = rows.map((r) => {
    const x = r.m;
    const q = ratio(r);
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
      f(q.rpsVs1, 2),
      f(x.lat1?.p50_ms, 2),
      f(x.lat1?.p99_ms, 2),
    ];
  });
  const details = rows
    .filter((r) => r.m)
    .map((r) => {
      const x = r.m as Measurement;
      const q = ratio(r);
      return [
        r.id,
        r.label,
        f(x.cpuPct, 0),
        f(x.backendHitsPerReq, 3),
        String(x.newBackendConns),
        f(x.redisUsPerReq, 1),
        f(x.redisCallsPerReq, 3),
        f(q.p99AddedVs3, 2),
        f(q.lat1P99AddedVs3, 3),
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
        'c1 p99 +ms vs 3',
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
  const m = (id: ScenarioId) => rows.find((r) => r.id === id)?.m ?? null;
  const out: TargetCheck[] = [];
  const add = (target: string, ok: boolean | null, figures: string) => out.push({ target, met: ok, figures });
  const bare = m('3');
  for (const id of ['5', '7'] as const) {
    const x = m(id);
    if (!x || !bare) {
      add(`${id}: req/s >= 0.85x and CPU <= 1.15x of 3`, null, 'not measured');
      continue;
    }
    const r = x.rps / bare.rps;
    add(`${id}: req/s >= 0.85x of 3`, r >= 0.85, `${f(x.rps)} vs ${f(bare.rps)} = ${f(r, 2)}x`);
    if (x.cpuUsPerReq && bare.cpuUsPerReq) {
      const c = x.cpuUsPerReq / bare.cpuUsPerReq;
      add(
        `${id}: CPU µs/req <= 1.15x of 3`,
        c <= 1.15,
        `${f(x.cpuUsPerReq)} vs ${f(bare.cpuUsPerReq)} µs = ${f(c, 2)}x`,
      );
    }
    if (x.lat1 && bare.lat1) {
      const added = x.lat1.p99_ms - bare.lat1.p99_ms;
      add(
        `${id}: p99 added <= 1 ms (one connection)`,
        added <= 1,
        `${f(x.lat1.p99_ms, 3)} vs ${f(bare.lat1.p99_ms, 3)} ms = +${f(added, 3)} ms (under load: +${f(x.p99_ms - bare.p99_ms, 2)} ms)`,
      );
    }
  }
  const s8 = m('8');
  if (s8 && bare) {
    const r = s8.rps / bare.rps;
    add('8: req/s >= 0.7x of 3', r >= 0.7, `${f(s8.rps)} vs ${f(bare.rps)} = ${f(r, 2)}x`);
  } else add('8: req/s >= 0.7x of 3', null, 'not measured');
  for (const [big, base] of [
    ['9a', '6'],
    ['9b', '7'],
  ] as const) {
    const x = m(big);
    const y = m(base);
    if (x && y) {
      const r = x.rps / y.rps;
      add(
        `${big}: within 5% of ${base}`,
        Math.abs(1 - r) <= 0.05,
        `${f(x.rps)} vs ${f(y.rps)} = ${f(r, 3)}x`,
      );
    } else add(`${big}: within 5% of ${base}`, null, 'not measured');
  }
  const s10 = m('10');
  add(
    '10: peak RSS <= 150 MB',
    s10?.peakRssMiB ? s10.peakRssMiB * 1.048576 <= 150 : null,
    s10?.peakRssMiB ? `${f(s10.peakRssMiB * 1.048576)} MB (${f(s10.peakRssMiB)} MiB)` : 'not measured',
  );
  return out;
}

export function renderTargets(checks: TargetCheck[]): string {
  return checks
    .map((c) => `${c.met === null ? '  n/a  ' : c.met ? '  met  ' : 'NOT met'}  ${c.target}: ${c.figures}`)
    .join('\n');
}
