// Page templates: the built-in layout, or an operator's `pages.templates` folder, compiled once at start.
//
// Rules checked at start (a ConfigError naming the file, like any other config problem): the folder
// exists; it holds only files authward knows (page.html); each one uses every required placeholder
// and no unknown one (a typo such as {{contnet}} would otherwise show up on every page).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { BUILT_IN_LAYOUT, PLACEHOLDERS, type Placeholder, REQUIRED } from './layout.js';

/** The files a templates folder may hold, and what each replaces. */
export const TEMPLATE_FILES = { 'page.html': 'the layout every page is rendered into' } as const;

/** A template split at its placeholders once: [text, key, text, key, …, text]. */
export type Compiled = (vars: Record<Placeholder, string>) => string;

const TOKEN = /\{\{\s*([A-Za-z]+)\s*\}\}/g;

export function compile(template: string): Compiled {
  const parts = template.split(TOKEN); // odd indexes are placeholder names
  return (vars) => {
    let out = '';
    for (let i = 0; i < parts.length; i++) out += i % 2 ? vars[parts[i] as Placeholder] : parts[i];
    return out;
  };
}

/** Problems with one template's placeholders (empty when it is usable). */
export function placeholderProblems(template: string): string[] {
  const used = new Set([...template.matchAll(TOKEN)].map((m) => m[1] as string));
  const known = new Set<string>(PLACEHOLDERS);
  return [
    ...REQUIRED.filter((p) => !used.has(p)).map((p) => `missing the placeholder {{${p}}}`),
    ...[...used]
      .filter((p) => !known.has(p))
      .map((p) => `unknown placeholder {{${p}}} (known: ${PLACEHOLDERS.join(', ')})`),
  ];
}

/** The layout to render pages into: the folder's page.html if it has one, else the built-in one. */
export function loadLayout(folder: string): Compiled {
  if (folder === '') return compile(BUILT_IN_LAYOUT);
  const problems: string[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(folder);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : String(err);
    throw new ConfigError([`pages.templates: ${folder}: ${why}`]);
  }
  let layout = BUILT_IN_LAYOUT;
  for (const name of names) {
    const path = join(folder, name);
    if (!(name in TEMPLATE_FILES)) {
      problems.push(
        `pages.templates: ${path}: unknown file (known: ${Object.keys(TEMPLATE_FILES).join(', ')})`,
      );
      continue;
    }
    const text = readFileSync(path, 'utf8');
    problems.push(...placeholderProblems(text).map((p) => `pages.templates: ${path}: ${p}`));
    layout = text;
  }
  if (problems.length) throw new ConfigError(problems);
  return compile(layout);
}
