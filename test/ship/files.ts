// Readers for the shipping files (Dockerfile, .dockerignore, compose, env files, manifests) the ship tests check.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../helpers/repo-root.js';

export const root = repoRoot;
export const read = (path: string) => readFileSync(join(root, path), 'utf8');

export type Json = Record<string, unknown>;

/** Every document of a YAML file, as plain data; a syntax error fails loudly. */
export function yamlDocs(path: string): Json[] {
  return parseAllDocuments(read(path)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as Json;
  });
}

/** KEY=VALUE lines (comments and blank lines skipped), as docker compose reads an env_file. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m?.[1]) env[m[1]] = (m[2] ?? '').trim();
  }
  return env;
}

/** Every string (keys and values) in parsed YAML/JSON data: where `${NAME}` counts (comments do not). */
export function strings(data: unknown): string[] {
  if (typeof data === 'string') return [data];
  if (Array.isArray(data)) return data.flatMap(strings);
  if (data && typeof data === 'object') return Object.entries(data).flatMap(([k, v]) => [k, ...strings(v)]);
  return [];
}

/** `${NAME}` and `${NAME:-default}` references in a text, skipping `$${` escapes. */
export function variables(text: string): { name: string; hasDefault: boolean }[] {
  return [...text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?][^}]*)?\}/g)].map((m) => ({
    name: m[1] as string,
    hasDefault: (m[2] ?? '').replace(/^:/, '').startsWith('-'),
  }));
}

/** Substitutes `${NAME:-default}` the way compose does (only what the tests need: defaults and env). */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_m, name: string, dflt?: string) => {
    const v = env[name];
    return v === undefined || v === '' ? (dflt ?? '') : v;
  });
}

export interface Instruction {
  op: string;
  args: string;
  stage: string;
}

/** Dockerfile instructions (continuations joined, comments dropped), each tagged with its stage name. */
export function dockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = '';
  let pending = '';
  for (const raw of text.split(/\r?\n/)) {
    if (/^\s*#/.test(raw)) continue; // Docker drops comment lines, inside continuations too
    const line = raw.replace(/\\\s*$/, '');
    pending = pending ? `${pending} ${line.trim()}` : line.trim();
    if (/\\\s*$/.test(raw)) continue;
    const m = /^(\w+)\s+([\s\S]*)$/.exec(pending);
    pending = '';
    if (!m?.[1]) continue;
    const op = m[1].toUpperCase();
    const args = (m[2] ?? '').trim();
    if (op === 'FROM') stage = /\bAS\s+(\S+)/i.exec(args)?.[1] ?? '';
    out.push({ op, args, stage });
  }
  return out;
}

/**
 * Whether .dockerignore lets `path` into the build context. Enough of Docker's rules for an allow-list
 * file: patterns apply in order, the last match wins, `!` re-includes, `*` alone matches everything,
 * a directory pattern covers what is under it, `**\/*.ext` matches by suffix.
 */
export function dockerIncludes(ignoreText: string, path: string): boolean {
  let included = true;
  for (const raw of ignoreText.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    const pattern = (negate ? line.slice(1) : line).replace(/\/+$/, '');
    const matches =
      pattern === '*' ||
      path === pattern ||
      path.startsWith(`${pattern}/`) ||
      (pattern.startsWith('**/*') && path.endsWith(pattern.slice(4)));
    if (matches) included = negate;
  }
  return included;
}

/**
 * Compiles a TypeScript tree to JavaScript without type-checking (what tsc emits, in about a second):
 * `npm run typecheck` checks types; these tests need runnable output that no concurrent build can race.
 */
export function transpileTree(srcDir: string, outDir: string): void {
  for (const entry of readdirSync(srcDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    if (
      relative(srcDir, file)
        .split(sep)
        .some((part) => part.startsWith('.'))
    )
      continue; // .build and such
    const out = join(outDir, relative(srcDir, file)).replace(/\.ts$/, '.js');
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
}
