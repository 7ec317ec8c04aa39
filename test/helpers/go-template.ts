// A subset of Go's text/template plus the few Sprig/Helm functions deploy/helm/authward uses; anything else throws.
//
// Not Helm: a test-side stand-in because neither a helm binary nor a faithful JavaScript Helm renderer
// exists on this machine (@evertdespiegeleer/go-template is Go's real text/template in WebAssembly, but
// without Sprig, `include` or `toYaml`, so it cannot render a chart). What it supports, and how it
// differs from Helm, is listed here; a construct outside the list is an error, never a silent guess.
//
//   syntax     {{ pipeline }}, {{- and -}} trimming, {{/* comments */}}, "strings" (Go escapes as JSON),
//              integers, true/false, .Field.chains, $ and $var.field, (sub pipelines), a | f b,
//              {{ $x := pipeline }}, if / else if / else, range (list or map, sorted keys; $v := or
//              $k, $v :=) with else, with / else, define (named templates, global across files)
//   functions  include default quote printf(%s %d %v) toYaml indent nindent dict set deepCopy not and
//              or eq ne gt int index empty hasKey required fail trunc trimSuffix sha256sum
//   strict     execute(..., strict = true): a missing map key is an error (missingkey=error, what
//              `helm lint --strict` renders with); otherwise nil, as Helm's default missingkey=zero
//   stricter   printing nil (Helm prints nothing), a map or a list is an error; a field of nil is an
//              error (as in Go); eq/ne compare strings
//              and booleans only and gt numbers only, so a number from values (a float64 in Helm)
//              must go through `int` before gt, which Helm needs too but this renderer cannot
//              check; a number Go would print in exponent form (>= 1e6) is an error.
//   differs    toYaml is the `yaml` package's, keys sorted like Helm's: the same data, not always the
//              same text (go-yaml puts list items at their key's indentation); fine for a test
//              that parses what it renders, not for comparing text with `helm template`.
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';

type Value = unknown;
type Arg =
  | { k: 'field'; path: string[] }
  | { k: 'var'; name: string; path: string[] }
  | { k: 'lit'; value: Value }
  | { k: 'fn'; name: string }
  | { k: 'pipe'; pipe: Pipe };
interface Pipe {
  decl: string[];
  cmds: Arg[][];
}
type Node =
  | { k: 'text'; text: string }
  | { k: 'out'; pipe: Pipe; at: string }
  | { k: 'if' | 'with'; pipe: Pipe; body: Node[]; else: Node[]; at: string }
  | { k: 'range'; pipe: Pipe; body: Node[]; else: Node[]; at: string };

export class TemplateError extends Error {}

/** Named templates (`define`) shared by every file of a chart, as Helm shares them. */
export type Defines = Map<string, Node[]>;

/** Parses one file: its body, and its `define`s added to `defines`. */
export function parseTemplate(name: string, text: string, defines: Defines): Node[] {
  const items = lex(name, text);
  let i = 0;
  const parseList = (stopAt: string[]): { nodes: Node[]; stop: string } => {
    const nodes: Node[] = [];
    while (i < items.length) {
      const item = items[i++] as Item;
      if (item.text !== undefined) {
        nodes.push({ k: 'text', text: item.text });
        continue;
      }
      const words = item.tokens;
      const head = words[0] ?? '';
      const at = `${name}:${item.line}`;
      if (['end', 'else'].includes(head)) {
        if (!stopAt.includes(head)) throw new TemplateError(`${at}: unexpected {{${head}}}`);
        i--; // the caller reads it
        return { nodes, stop: head };
      }
      if (head === 'if' || head === 'with' || head === 'range') {
        nodes.push(parseBlock(head, words.slice(1), at));
      } else if (head === 'define') {
        const tname = literalString(words.slice(1), at);
        const body = parseList(['end']);
        expect('end', at);
        defines.set(tname, body.nodes);
      } else if (KEYWORDS.has(head)) {
        throw new TemplateError(`${at}: {{${head}}} is not supported by this renderer`);
      } else {
        nodes.push({ k: 'out', pipe: parsePipe(words, at), at });
      }
    }
    if (stopAt.length > 0) throw new TemplateError(`${name}: missing {{end}}`);
    return { nodes, stop: '' };
  };
  const expect = (word: string, at: string) => {
    const item = items[i++];
    if (item?.tokens[0] !== word) throw new TemplateError(`${at}: expected {{${word}}}`);
    return item.tokens;
  };
  const parseBlock = (kind: 'if' | 'with' | 'range', words: string[], at: string): Node => {
    const pipe = parsePipe(words, at);
    if (kind !== 'range' && pipe.decl.length > 0)
      throw new TemplateError(`${at}: declarations in {{${kind}}} are not supported`);
    const then = parseList(['else', 'end']);
    let otherwise: Node[] = [];
    if (then.stop === 'else') {
      const elseWords = expect('else', at).slice(1);
      if (elseWords[0] === 'if' && kind === 'if') {
        otherwise = [parseBlock('if', elseWords.slice(1), at)];
        return { k: kind, pipe, body: then.nodes, else: otherwise, at };
      }
      if (elseWords.length > 0) throw new TemplateError(`${at}: {{else ${elseWords[0]}}} is not supported`);
      otherwise = parseList(['end']).nodes;
    }
    expect('end', at);
    return { k: kind, pipe, body: then.nodes, else: otherwise, at };
  };
  return parseList([]).nodes;
}

const KEYWORDS = new Set(['template', 'block', 'break', 'continue', 'nil']);

interface Item {
  text?: string;
  tokens: string[];
  line: number;
}

/** Splits text into literal text and actions (as token lists), applying the trim markers. */
function lex(name: string, text: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  let trimNext = false;
  while (pos < text.length) {
    const open = text.indexOf('{{', pos);
    let literal = text.slice(pos, open === -1 ? text.length : open);
    if (trimNext) literal = literal.replace(/^\s+/, '');
    if (open === -1) {
      if (literal) items.push({ text: literal, tokens: [], line: 0 });
      break;
    }
    const line = text.slice(0, open).split('\n').length;
    let start = open + 2;
    if (/^-\s/.test(text.slice(start, start + 2))) {
      literal = literal.replace(/\s+$/, '');
      start += 1;
    }
    if (literal) items.push({ text: literal, tokens: [], line });
    const { tokens, end } = tokenize(text, start, `${name}:${line}`);
    trimNext = tokens.at(-1) === '-';
    const inner = trimNext ? tokens.slice(0, -1) : tokens;
    if (inner[0]?.startsWith('/*')) {
      if (inner.length !== 1) throw new TemplateError(`${name}:${line}: a comment must fill its action`);
    } else {
      if (inner.length === 0) throw new TemplateError(`${name}:${line}: empty action`);
      items.push({ tokens: inner, line });
    }
    pos = end + 2;
  }
  return items;
}

/** Tokens of one action from `start` to its closing `}}` (not inside a string or comment). */
function tokenize(text: string, start: number, at: string): { tokens: string[]; end: number } {
  const tokens: string[] = [];
  let p = start;
  for (;;) {
    while (/\s/.test(text[p] ?? '')) p++;
    if (p >= text.length) throw new TemplateError(`${at}: unclosed action`);
    if (text.startsWith('}}', p)) return { tokens, end: p };
    const rest = text.slice(p);
    const m =
      /^\/\*[\s\S]*?\*\//.exec(rest) ??
      /^"(?:[^"\\\n]|\\.)*"/.exec(rest) ??
      /^(?::=|[|(),=])/.exec(rest) ??
      /^-?\d+(?![\w.])/.exec(rest) ??
      /^(?:\$\w*|\.\w*|\w+)(?:\.\w+)*/.exec(rest) ??
      /^-(?=\}\})/.exec(rest);
    if (!m) throw new TemplateError(`${at}: cannot read "${rest.slice(0, 12)}"`);
    tokens.push(m[0]);
    p += m[0].length;
  }
}

function literalString(words: string[], at: string): string {
  const [w] = words;
  if (words.length !== 1 || !w?.startsWith('"')) throw new TemplateError(`${at}: expected one "name"`);
  return JSON.parse(w) as string;
}

function parsePipe(words: string[], at: string): Pipe {
  let decl: string[] = [];
  const assign = words.indexOf(':=');
  if (assign !== -1) {
    decl = words.slice(0, assign).filter((w) => w !== ',');
    if (decl.length === 0 || decl.length > 2 || decl.some((d) => !/^\$\w+$/.test(d)))
      throw new TemplateError(`${at}: bad declaration ${words.slice(0, assign).join(' ')}`);
    words = words.slice(assign + 1);
  }
  if (words.includes('=')) throw new TemplateError(`${at}: assignment (=) is not supported`);
  let i = 0;
  const pipeline = (closing: boolean): Pipe => {
    const cmds: Arg[][] = [[]];
    while (i < words.length) {
      const w = words[i++] as string;
      if (w === ')') {
        if (!closing) throw new TemplateError(`${at}: unbalanced )`);
        return { decl: [], cmds };
      }
      if (w === '|') cmds.push([]);
      else (cmds.at(-1) as Arg[]).push(w === '(' ? { k: 'pipe', pipe: pipeline(true) } : operand(w, at));
    }
    if (closing) throw new TemplateError(`${at}: missing )`);
    return { decl: [], cmds };
  };
  const pipe = pipeline(false);
  if (pipe.cmds.some((c) => c.length === 0)) throw new TemplateError(`${at}: empty command in pipeline`);
  return { decl, cmds: pipe.cmds };
}

function operand(w: string, at: string): Arg {
  if (w.startsWith('"')) return { k: 'lit', value: JSON.parse(w) };
  if (/^-?\d+$/.test(w)) return { k: 'lit', value: Number(w) };
  if (w === 'true' || w === 'false') return { k: 'lit', value: w === 'true' };
  if (w.startsWith('.')) return { k: 'field', path: w === '.' ? [] : w.slice(1).split('.') };
  if (w.startsWith('$')) {
    const [name, ...path] = w.split('.');
    return { k: 'var', name: name as string, path };
  }
  if (/^\w+$/.test(w) && !KEYWORDS.has(w)) return { k: 'fn', name: w };
  throw new TemplateError(`${at}: unsupported operand ${w}`);
}

// ---- execution ----

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
