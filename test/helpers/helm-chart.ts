// Renders a Helm chart directory offline with test/helpers/go-template.ts: what `helm template` does, for a subset.
//
// Like Helm: values.yaml coalesced with the given values (maps merged deeply, lists and scalars
// replaced, null deletes a default); .Values, .Release (Name, Namespace, Service, IsInstall,
// IsUpgrade, Revision), .Chart (Name, Version, AppVersion, Description, Type); every file of
// templates/ parsed first so `define`s are shared; files starting with `_` render nothing; output
// split on `---` lines, empty documents dropped. Not here: .Capabilities, .Files, .Template,
// subcharts, schema files, hooks, `helm lint`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { type Defines, parseTemplate } from './go-template.js';
import { execute } from './go-template-run.js';

export type Values = Record<string, unknown>;

export interface Rendered {
  /** Each document of each manifest template, parsed, with the file it came from. */
  objects: { file: string; doc: Record<string, unknown> & { apiVersion: string; kind: string } }[];
  /** templates/NOTES.txt, rendered. */
  notes: string;
}

export interface Release {
  name: string;
  namespace?: string;
}

const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Helm's coalescing of user values over the chart's defaults. */
export function coalesce(defaults: unknown, given: unknown): unknown {
  if (!isMap(defaults) || !isMap(given)) return given === undefined ? structuredClone(defaults) : given;
  const out: Values = structuredClone(defaults);
  for (const [k, v] of Object.entries(given)) {
    if (v === null) delete out[k];
    else out[k] = coalesce(out[k], v);
  }
  return out;
}

/** `strict`: missing keys are errors, as `helm lint --strict` renders (the default here). */
export function renderChart(dir: string, release: Release, values: Values = {}, strict = true): Rendered {
  const chart = parse(readFileSync(join(dir, 'Chart.yaml'), 'utf8')) as Values;
  const defaults = parse(readFileSync(join(dir, 'values.yaml'), 'utf8')) as Values;
  const top = {
    Values: coalesce(defaults, values),
    Release: {
      Name: release.name,
      Namespace: release.namespace ?? 'default',
      Service: 'Helm',
      IsInstall: true,
      IsUpgrade: false,
      Revision: 1,
    },
    Chart: {
      Name: chart.name,
      Version: chart.version,
      AppVersion: chart.appVersion,
      Description: chart.description,
      Type: chart.type ?? 'application',
    },
  };
  const defines: Defines = new Map();
  const files = readdirSync(join(dir, 'templates')).sort();
  const parsed = files.map((f) => ({
    f,
    nodes: parseTemplate(f, readFileSync(join(dir, 'templates', f), 'utf8'), defines),
  }));
  const objects: Rendered['objects'] = [];
  let notes = '';
  for (const { f, nodes } of parsed) {
    if (f.startsWith('_')) continue;
    const text = execute(nodes, top, defines, strict);
    if (f === 'NOTES.txt') {
      notes = text;
      continue;
    }
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0)
        throw new Error(`${f}: ${doc.errors.map((e) => e.message).join('; ')}\n${text}`);
      const value = doc.toJS() as Rendered['objects'][number]['doc'] | null;
      if (value !== null) objects.push({ file: f, doc: value });
    }
  }
  return { objects, notes };
}
