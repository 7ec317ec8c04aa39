// Reads a V8 .cpuprofile and sums self time per function and per package, over a time window of the run.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  where: string;
  ms: number;
  /** Share of the busy (non-idle) time in the window. */
  pct: number;
}

export interface ProfileSummary {
  windowMs: number;
  busyMs: number;
  idleMs: number;
  top: SelfTime[];
  /** Every package / area, largest first. */
  byArea: SelfTime[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function shortUrl(url: string, root: string): string {
  return url.replace(/^file:\/\//, '').replace(`${root}/`, '');
}

/** node:http → node:http; node_modules/@fastify/reply-from/... → @fastify/reply-from; dist/proxy/x.js → authward proxy/. */
function areaOf(name: string, url: string): string {
  if (SPECIAL.has(name)) return name;
  if (!url) return '(V8 builtins / native)';
  if (url.startsWith('node:')) return `node core (${url.replace(/^node:(internal\/)?/, '').split('/')[0]})`;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (m) return m[1] as string;
  const d = /\/dist\/(?:([^/]+)\/)?[^/]+\.js$/.exec(url);
  if (d) return `authward ${d[1] ?? ''}/`;
  return url;
}

/** fromMs/toMs: offsets from the profile's start (about the process start). */
export function summarize(
  file: string,
  root: string,
  fromMs: number,
  toMs: number,
  topN = 25,
): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const fn = new Map<string, SelfTime>();
  const area = new Map<string, SelfTime>();
  let t = 0;
  let idle = 0;
  let busy = 0;
  const add = (m: Map<string, SelfTime>, key: string, name: string, where: string, ms: number) => {
    const e = m.get(key) ?? { name, where, ms: 0, pct: 0 };
    e.ms += ms;
    m.set(key, e);
  };
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const at = t / 1000;
    if (at < fromMs || at > toMs) continue;
    // A sample stands for the time until the next one.
    const ms = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(p.samples[i] as number);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += ms;
      continue;
    }
    busy += ms;
    const where = url ? `${shortUrl(url, root)}:${lineNumber + 1}` : '';
    add(fn, `${name} ${where}`, name, where, ms);
    const a = areaOf(name, url);
    add(area, a, a, '', ms);
  }
  const ranked = (m: Map<string, SelfTime>, n: number) =>
    [...m.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, n)
      .map((e) => ({ ...e, pct: busy > 0 ? (e.ms / busy) * 100 : 0 }));
  return {
    windowMs: toMs - fromMs,
    busyMs: busy,
    idleMs: idle,
    top: ranked(fn, topN),
    byArea: ranked(area, 20),
  };
}

export function renderSummary(s: ProfileSummary, requests: number): string {
  const rows = (list: SelfTime[], withWhere: boolean) =>
    list
      .map(
        (e, i) =>
          `${String(i + 1).padStart(3)}. ${e.ms.toFixed(0).padStart(6)} ms ${e.pct.toFixed(1).padStart(5)} %  ${(
            (e.ms * 1000) /
            Math.max(1, requests)
          )
            .toFixed(2)
            .padStart(6)} µs/req  ${e.name}${withWhere && e.where ? `  ${e.where}` : ''}`,
      )
      .join('\n');
  return [
    `window ${(s.windowMs / 1000).toFixed(1)} s: busy ${s.busyMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms, ${requests} requests (${((s.busyMs * 1000) / Math.max(1, requests)).toFixed(1)} µs busy/req on the main thread)`,
    '',
    'self time by package / area:',
    rows(s.byArea.slice(0, 20), false),
    '',
    `top ${Math.min(25, s.top.length)} functions by self time:`,
    rows(s.top.slice(0, 25), true),
  ].join('\n');
}
