// A subset of Go's text/template plus the few Sprig/Helm functions deploy/helm/authward uses; anything else throws.
// This file parses; go-template-run.ts executes.
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

export type Value = unknown;
export type Arg =
  | { k: 'field'; path: string[] }
  | { k: 'var'; name: string; path: string[] }
  | { k: 'lit'; value: Value }
  | { k: 'fn'; name: string }
  | { k: 'pipe'; pipe: Pipe };
export interface Pipe {
  decl: string[];
  cmds: Arg[][];
}
export type Node =
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
