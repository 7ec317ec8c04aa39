// Validates a raw config against the schema (defaults applied), then the cross-field rules; freezes the result.
import type { TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { ConfigError } from '../errors.js';
import { deepFreeze } from './freeze.js';
import { crossFieldProblems } from './rules/index.js';
import { type Config, ConfigSchema } from './schema.js';
import { configWarnings } from './warnings.js';

const FORMATS: Record<string, { test: (s: string) => boolean; expected: string }> = {
  'http-url': { test: (s) => isUrl(s, ['http:', 'https:']), expected: 'an absolute http(s) URL' },
  'redis-url': { test: (s) => isUrl(s, ['redis:', 'rediss:']), expected: 'a redis:// or rediss:// URL' },
  'abs-path': {
    test: (s) => /^\/[^\s?#*]*$/.test(s),
    expected: 'a path starting with "/" (no query, no spaces)',
  },
  'route-path': {
    test: (s) => /^\/[^\s?#*]*\*?$/.test(s),
    expected: 'a path starting with "/" (a trailing "*" means prefix)',
  },
  'base64-key32': {
    test: (s) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(s) && Buffer.from(s, 'base64').length === 32,
    expected: 'a base64-encoded 32-byte key (generate one with `authward keygen`)',
  },
};

function isUrl(s: string, protocols: string[]): boolean {
  try {
    return protocols.includes(new URL(s).protocol) && /^[a-z]+:\/\//i.test(s);
  } catch {
    return false;
  }
}

const ajv = new Ajv({
  allErrors: true,
  useDefaults: true,
  verbose: true,
  strict: true,
  allowUnionTypes: true,
});
ajv.addKeyword('secret');
for (const [name, { test }] of Object.entries(FORMATS)) ajv.addFormat(name, test);
const validate = ajv.compile<Config>(ConfigSchema);

// Names of secret fields, so no error message ever prints their value.
const SECRET_KEYS = new Set<string>();
(function collect(schema: TSchema) {
  for (const [k, s] of Object.entries((schema.properties ?? {}) as Record<string, TSchema>)) {
    if ((s as { secret?: boolean }).secret) SECRET_KEYS.add(k);
    collect(s);
    if (s.items) collect(s.items as TSchema);
  }
})(ConfigSchema);

/** A validated, frozen config and the start-up warnings it earns (config/warnings.ts). */
export function checkConfig(raw: unknown): { config: Config; warnings: readonly string[] } {
  const config = validateConfig(raw);
  return { config, warnings: configWarnings(config) };
}

export function validateConfig(raw: unknown): Config {
  const value = structuredClone(raw);
  const valid = validate(value);
  const schemaProblems = valid ? [] : formatErrors(validate.errors ?? []);
  // Every problem in one run: the cross-field rules too, each skipped where it would trip over a field
  // the schema already rejected (and any of their findings on such a field left out as noise).
  const rejected = schemaProblems.map((p) => p.slice(0, p.indexOf(':')));
  const related = (problem: string) => {
    const path = problem.slice(0, problem.indexOf(':'));
    return rejected.some((r) => r === path || r.startsWith(`${path}.`) || path.startsWith(`${r}.`));
  };
  const cross = crossFieldProblems(value as Config, !valid).filter((p) => valid || !related(p));
  const problems = [...schemaProblems, ...cross];
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(value as Config);
}

function formatErrors(errors: ErrorObject[]): string[] {
  // A union's branch errors are noise once the union itself is reported.
  const unions = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  const out = new Set<string>();
  for (const e of errors) {
    if (unions.some((u) => e.schemaPath.startsWith(u))) continue;
    out.add(formatError(e));
  }
  return [...out];
}

function formatError(e: ErrorObject): string {
  const path = pathOf(e.instancePath);
  const at = (key: string) => (path ? `${path}.${key}` : key);
  const got = isSecretPath(e.instancePath) ? '(hidden)' : JSON.stringify(withoutUserinfo(e.data));
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${at(String(p.missingProperty))}: is required`;
    case 'additionalProperties': {
      const known = Object.keys((e.parentSchema as { properties?: object })?.properties ?? {});
      const hint = closest(String(p.additionalProperty), known);
      return `${at(String(p.additionalProperty))}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`;
    }
    case 'format':
      return `${path}: must be ${FORMATS[String(p.format)]?.expected ?? p.format}, got ${got}`;
    case 'anyOf': {
      const branches = ((e.schema as TSchema[]) ?? []).map((s) => s.const);
      return branches.every((c) => c !== undefined)
        ? `${path}: must be one of ${branches.map((c) => JSON.stringify(c)).join(', ')}, got ${got}`
        : `${path}: must be ${describeUnion(e.schema as TSchema[])}, got ${got}`;
    }
    case 'type':
      return `${path || '(root)'}: must be ${article(String(p.type))}, got ${got}`;
    case 'minItems':
      return `${path}: must have at least ${p.limit} item${p.limit === 1 ? '' : 's'}`;
    case 'minLength':
      return `${path}: must not be empty`;
    case 'uniqueItems':
      return `${path}: must not repeat items`;
    case 'pattern':
      return `${path}: must match ${p.pattern}, got ${got}`;
    default:
      return `${path || '(root)'}: ${e.message}, got ${got}`;
  }
}

/**
 * A string that looks like a URL with credentials (`scheme://user:password@host`, even malformed, as in
 * `redis//:secret@host`) with everything before the `@` past the scheme masked: a URL that fails
 * validation is printed, and its password must not be.
 */
function withoutUserinfo(data: unknown): unknown {
  if (typeof data !== 'string') return data;
  const at = data.lastIndexOf('@');
  if (at === -1) return data;
  const slashes = data.indexOf('//');
  const start = slashes !== -1 && slashes < at ? slashes + 2 : 0;
  return `${data.slice(0, start)}***${data.slice(at)}`;
}

const pathOf = (instancePath: string) =>
  instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');

const isSecretPath = (instancePath: string) => instancePath.split('/').some((seg) => SECRET_KEYS.has(seg));
const article = (type: string) =>
  (type === 'integer' || type === 'array' || type === 'object' ? 'an ' : 'a ') + type;
const describeUnion = (branches: TSchema[]) =>
  branches
    .map((b) => (b.const !== undefined ? JSON.stringify(b.const) : article(String(b.type))))
    .join(' or ');

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
