// Reads the YAML file, substitutes ${VAR}, reads *File secrets, then validates: every problem at once.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import { type Config, ConfigSchema } from './schema.js';
import { validateConfig } from './validate.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Env = Record<string, string | undefined>;

/** Loads, resolves and validates a config file. Throws ConfigError listing every problem. */
export function loadConfigFile(file: string, env: Env = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UnreadableConfigError(
      `cannot read config file ${file}: ${readProblem(err as NodeJS.ErrnoException)}`,
    );
  }
  return loadConfigText(text, env, resolve(file, '..'));
}

/** The file is missing or unreadable: not an invalid configuration, and said without that heading. */
export class UnreadableConfigError extends ConfigError {
  constructor(problem: string) {
    super([problem]);
    this.message = problem;
  }
}

/** Why a file could not be read, in words, with the system's code for searching. */
function readProblem(err: NodeJS.ErrnoException): string {
  const words = READ_ERRORS[err.code ?? ''];
  return words ? `${words} (${err.code})` : (err.code ?? String(err));
}
const READ_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

export function loadConfigText(text: string, env: Env = process.env, baseDir = process.cwd()): Config {
  // A LineCounter gives positions without prettyErrors, whose source excerpts could print a secret.
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return `YAML syntax (line ${line}, column ${col}): ${e.message}`;
      }),
    );
  }
  const raw = (doc.toJS() ?? {}) as Json;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError([
      'the config file must be a YAML mapping of sections (listen, identity, upstream, ...)',
    ]);
  }
  const problems: string[] = [];
  const substituted = interpolate(raw, '', env, problems);
  readSecretFiles(ConfigSchema, substituted, '', baseDir, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return validateConfig(substituted);
}

// ${NAME} in any string becomes the environment variable; $${ escapes a literal "${".
function interpolate(value: Json, path: string, env: Env, problems: string[]): Json {
  if (typeof value === 'string') {
    return value.replace(/\$\$\{|\$\{([^}]*)\}/g, (match, name: string | undefined) => {
      if (match === '$${') return '${';
      if (!name || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        problems.push(`${path || '(root)'}: "${match}" is not a valid environment variable reference`);
        return '';
      }
      const v = env[name];
      if (v === undefined) problems.push(`${path || '(root)'}: environment variable ${name} is not set`);
      return v ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, `${path}[${i}]`, env, problems));
  if (value && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = interpolate(v, path ? `${path}.${k}` : k, env, problems);
    return out;
  }
  return value;
}

// Walks the schema and the value together: where the schema marks `x` secret and `xFile` is given,
// the file's trimmed contents become `x` (a list secret takes one entry per non-empty line).
function readSecretFiles(
  schema: TSchema,
  value: Json,
  path: string,
  baseDir: string,
  problems: string[],
): void {
  if (!value || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    const items = (schema as { items?: TSchema }).items;
    if (items) {
      for (const [i, v] of value.entries()) readSecretFiles(items, v, `${path}[${i}]`, baseDir, problems);
    }
    return;
  }
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!props) return;
  for (const [key, sub] of Object.entries(props)) {
    const here = path ? `${path}.${key}` : key;
    const fileKey = `${key}File`;
    if ((sub as { secret?: boolean }).secret && typeof value[fileKey] === 'string') {
      if (value[key] !== undefined) {
        problems.push(`${here}: give either ${key} or ${fileKey}, not both`);
        continue;
      }
      const file = resolve(baseDir, value[fileKey] as string);
      try {
        const text = readFileSync(file, 'utf8').trim();
        value[key] =
          sub.type === 'array'
            ? text
                .split(/\r?\n/)
                .map((l) => l.trim())
                .filter(Boolean)
            : text;
        delete value[fileKey];
      } catch (err) {
        problems.push(`${here}File: cannot read ${file}: ${readProblem(err as NodeJS.ErrnoException)}`);
      }
      continue;
    }
    if (value[key] !== undefined) readSecretFiles(sub, value[key] as Json, here, baseDir, problems);
  }
}
