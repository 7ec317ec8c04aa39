// The README's configuration reference, generated from the schema's descriptions so docs cannot drift.
import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema } from './schema.js';

interface Row {
  key: string;
  type: string;
  dflt: string;
  description: string;
}

export function configReference(): string {
  const rows: Row[] = [];
  walk(ConfigSchema, '', rows);
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    '| key | type | default | description |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.key}\` | ${esc(r.type)} | ${esc(r.dflt)} | ${esc(r.description)} |`),
  ].join('\n');
}

function walk(schema: TSchema, path: string, rows: Row[]): void {
  const props = (schema.properties ?? {}) as Record<string, TSchema>;
  const required = new Set<string>((schema.required as string[] | undefined) ?? []);
  for (const [key, sub] of Object.entries(props)) {
    const here = path ? `${path}.${key}` : key;
    const isObject = sub.type === 'object' && sub.properties;
    const items = sub.items as TSchema | undefined;
    if (!isObject || sub.description) {
      rows.push({
        key: here,
        type: typeOf(sub),
        dflt:
          sub.default !== undefined && !isObject
            ? `\`${JSON.stringify(sub.default)}\``
            : required.has(key) && !isObject
              ? 'required'
              : '',
        description:
          (sub.description as string | undefined) ?? (items?.description as string | undefined) ?? '',
      });
    }
    if (isObject) walk(sub, here, rows);
    else if (items?.type === 'object' && items.properties) walk(items, `${here}[]`, rows);
  }
}

function typeOf(s: TSchema): string {
  if (s.anyOf) {
    const branches = s.anyOf as TSchema[];
    return branches.map((b) => (b.const !== undefined ? JSON.stringify(b.const) : typeOf(b))).join(' | ');
  }
  if (s.type === 'array') return `list of ${typeOf(s.items as TSchema)}`;
  if (s.format) return `${s.type} (${s.format})`;
  return String(s.type ?? 'any');
}
