// Executes templates parsed by go-template.ts: Go's semantics for the subset listed there, and its functions.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { type Arg, type Defines, type Node, type Pipe, TemplateError, type Value } from './go-template.js';

interface State {
  dot: Value;
  vars: Map<string, Value>[];
  defines: Defines;
  /** missingkey=error, as `helm lint --strict` and `helm template --strict` render. */
  strict: boolean;
}

/** Renders parsed nodes with `data` as both `.` and `$`. */
export function execute(nodes: Node[], data: Value, defines: Defines, strict = false): string {
  return run(nodes, { dot: data, vars: [new Map([['$', data]])], defines, strict });
}

function run(nodes: Node[], s: State): string {
  let out = '';
  for (const n of nodes) {
    if (n.k === 'text') out += n.text;
    else if (n.k === 'out') {
      const v = evalPipe(n.pipe, s, n.at);
      if (n.pipe.decl.length === 0) out += print(v, n.at);
    } else if (n.k === 'if' || n.k === 'with') {
      const v = evalPipe(n.pipe, s, n.at);
      const branch = truthy(v) ? n.body : n.else;
      const dot = n.k === 'with' && truthy(v) ? v : s.dot;
      out += run(branch, { ...s, dot, vars: [...s.vars, new Map()] });
    } else if (n.k === 'range') {
      out += runRange(n, s);
    }
  }
  return out;
}

function runRange(n: Extract<Node, { k: 'range' }>, s: State): string {
  const v = evalPipe({ ...n.pipe, decl: [] }, s, n.at);
  let entries: [Value, Value][];
  if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
  else if (isMap(v))
    entries = Object.keys(v)
      .sort()
      .map((k) => [k, v[k]]);
  else if (v === null || v === undefined) entries = [];
  else throw new TemplateError(`${n.at}: range over ${typeof v}`);
  if (entries.length === 0) return run(n.else, { ...s, vars: [...s.vars, new Map()] });
  let out = '';
  for (const [key, item] of entries) {
    const scope = new Map<string, Value>();
    const [a, b] = n.pipe.decl;
    if (b && a) {
      scope.set(a, key);
      scope.set(b, item);
    } else if (a) scope.set(a, item);
    out += run(n.body, { ...s, dot: item, vars: [...s.vars, scope] });
  }
  return out;
}

function evalPipe(pipe: Pipe, s: State, at: string): Value {
  let piped: { v: Value } | undefined;
  for (const cmd of pipe.cmds) piped = { v: evalCmd(cmd, s, at, piped) };
  const v = piped?.v;
  const [name] = pipe.decl;
  if (name) (s.vars.at(-1) as Map<string, Value>).set(name, v);
  return v;
}

function evalCmd(cmd: Arg[], s: State, at: string, piped?: { v: Value }): Value {
  const [head, ...rest] = cmd as [Arg, ...Arg[]];
  if (head.k !== 'fn') {
    if (rest.length > 0 || piped) throw new TemplateError(`${at}: only functions take arguments`);
    return evalArg(head, s, at);
  }
  const fn = FUNCTIONS[head.name];
  if (!fn) throw new TemplateError(`${at}: function "${head.name}" is not supported by this renderer`);
  // and/or evaluate lazily, as Go does since 1.18.
  const args = rest.map((a) => () => evalArg(a, s, at));
  if (piped) args.push(() => piped.v);
  return fn(args, s, at);
}

function evalArg(a: Arg, s: State, at: string): Value {
  switch (a.k) {
    case 'lit':
      return a.value;
    case 'pipe':
      return evalPipe(a.pipe, s, at);
    case 'fn':
      return evalCmd([a], s, at);
    case 'field':
      return walk(s.dot, a.path, s.strict, at);
    case 'var': {
      const scope = [...s.vars].reverse().find((m) => m.has(a.name));
      if (!scope) throw new TemplateError(`${at}: undefined variable ${a.name}`);
      return walk(scope.get(a.name), a.path, s.strict, at);
    }
  }
}

function walk(v: Value, path: string[], strict: boolean, at: string): Value {
  let cur = v;
  for (const key of path) {
    if (!isMap(cur)) throw new TemplateError(`${at}: .${key} of ${cur === null ? 'nil' : typeof cur}`);
    if (strict && !Object.hasOwn(cur, key))
      throw new TemplateError(`${at}: map has no entry for key "${key}"`);
    cur = Object.hasOwn(cur, key) ? cur[key] : undefined; // else nil, as Helm's missingkey=zero
  }
  return cur;
}

const isMap = (v: Value): v is Record<string, Value> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Go's truth: false, 0, nil, and empty strings, lists and maps are false. */
export function truthy(v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return Boolean(v);
}

function print(v: Value, at: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || Math.abs(v) >= 1e6)
      throw new TemplateError(`${at}: Helm prints ${v} as a float64 (1e+06 style); quote it in values`);
    return String(v);
  }
  throw new TemplateError(`${at}: cannot print ${v === null || v === undefined ? 'nil' : 'a map or list'}`);
}

const str = (v: Value, at: string) => (typeof v === 'string' ? v : print(v, at));

function toYaml(v: Value): string {
  if (v === undefined || v === null) return 'null';
  return stringify(v, { sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, '');
}

function deepCopy(v: Value): Value {
  return structuredClone(v);
}

type Fn = (args: (() => Value)[], s: State, at: string) => Value;

function arity(n: number, f: (a: Value[], s: State, at: string) => Value): Fn {
  return (args, s, at) => {
    if (args.length !== n) throw new TemplateError(`${at}: expected ${n} arguments, got ${args.length}`);
    return f(
      args.map((a) => a()),
      s,
      at,
    );
  };
}

function comparable(a: Value, b: Value, at: string): void {
  const ok = (v: Value) => typeof v === 'string' || typeof v === 'boolean';
  if (!ok(a) || !ok(b) || typeof a !== typeof b)
    throw new TemplateError(`${at}: eq/ne compare two strings or two booleans here`);
}

const FUNCTIONS: Record<string, Fn> = {
  include: arity(2, ([name, data], s, at) => {
    const body = s.defines.get(String(name));
    if (!body) throw new TemplateError(`${at}: no template "${String(name)}"`);
    return run(body, { ...s, dot: data, vars: [new Map([['$', data]])] });
  }),
  default: arity(2, ([d, v]) => (truthy(v) ? v : d)),
  quote: arity(1, ([v], _s, at) => JSON.stringify(str(v, at))),
  printf: (args, _s, at) => {
    const [format, ...rest] = args.map((a) => a());
    let i = 0;
    return String(format).replace(/%([sdv%])/g, (_m, verb: string) =>
      verb === '%' ? '%' : str(rest[i++], at),
    );
  },
  toYaml: arity(1, ([v]) => toYaml(v)),
  indent: arity(2, ([n, v], _s, at) => {
    const pad = ' '.repeat(Number(n));
    return pad + str(v, at).replaceAll('\n', `\n${pad}`);
  }),
  nindent: arity(2, ([n, v], _s, at) => {
    const pad = ' '.repeat(Number(n));
    return `\n${pad}${str(v, at).replaceAll('\n', `\n${pad}`)}`;
  }),
  dict: (args, _s, at) => {
    const vals = args.map((a) => a());
    if (vals.length % 2 !== 0) throw new TemplateError(`${at}: dict takes key/value pairs`);
    const out: Record<string, Value> = {};
    for (let i = 0; i < vals.length; i += 2) out[String(vals[i])] = vals[i + 1];
    return out;
  },
  set: arity(3, ([d, k, v], _s, at) => {
    if (!isMap(d)) throw new TemplateError(`${at}: set on a non-map`);
    d[String(k)] = v;
    return d;
  }),
  deepCopy: arity(1, ([v]) => deepCopy(v)),
  not: arity(1, ([v]) => !truthy(v)),
  and: (args) => {
    let v: Value = true;
    for (const a of args) {
      v = a();
      if (!truthy(v)) return v;
    }
    return v;
  },
  or: (args) => {
    let v: Value = false;
    for (const a of args) {
      v = a();
      if (truthy(v)) return v;
    }
    return v;
  },
  eq: arity(2, ([a, b], _s, at) => {
    comparable(a, b, at);
    return a === b;
  }),
  ne: arity(2, ([a, b], _s, at) => {
    comparable(a, b, at);
    return a !== b;
  }),
  gt: arity(2, ([a, b], _s, at) => {
    if (typeof a !== 'number' || typeof b !== 'number') throw new TemplateError(`${at}: gt compares numbers`);
    return a > b;
  }),
  int: arity(1, ([v], _s, at) => {
    const n = typeof v === 'string' ? Number.parseInt(v, 10) : Number(v ?? 0);
    if (!Number.isFinite(n)) throw new TemplateError(`${at}: int of ${String(v)}`);
    return Math.trunc(n);
  }),
  fail: arity(1, ([msg]) => {
    throw new TemplateError(String(msg));
  }),
  // Go's index: a missing map key is nil even under missingkey=error.
  index: arity(2, ([v, key], _s, at) => {
    if (Array.isArray(v) && typeof key === 'number') return v[key];
    if (isMap(v)) return Object.hasOwn(v, String(key)) ? v[String(key)] : undefined;
    throw new TemplateError(`${at}: index of ${v === null || v === undefined ? 'nil' : typeof v}`);
  }),
  empty: arity(1, ([v]) => !truthy(v)),
  hasKey: arity(2, ([d, k]) => isMap(d) && Object.hasOwn(d, String(k))),
  required: arity(2, ([msg, v], _s, at) => {
    if (!truthy(v)) throw new TemplateError(`${at}: ${String(msg)}`);
    return v;
  }),
  trunc: arity(2, ([n, v], _s, at) => str(v, at).slice(0, Number(n))),
  trimSuffix: arity(2, ([suffix, v], _s, at) => {
    const text = str(v, at);
    return text.endsWith(String(suffix)) ? text.slice(0, -String(suffix).length) : text;
  }),
  sha256sum: arity(1, ([v], _s, at) => createHash('sha256').update(str(v, at)).digest('hex')),
};
