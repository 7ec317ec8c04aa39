// The README's list of log events is the code's: every `event: '...'` value written in src/ is named there.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/repo-root.js';

const root = repoRoot;

/** Every event name in src/: `event: 'x'` and `event: cond ? 'x' : 'y'`. */
function eventsInSource(): Set<string> {
  const events = new Set<string>();
  for (const entry of readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), 'utf8');
    for (const m of text.matchAll(/\bevent: ([^,}\n]+)/g)) {
      for (const name of (m[1] as string).matchAll(/'([a-z_]+)'/g)) events.add(name[1] as string);
    }
  }
  return events;
}

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = /\*\*Logs\*\*[\s\S]*?\n\n/.exec(readme)?.[0] ?? '';

t.ok(section.length > 0, 'the README has its Logs paragraph');
const events = eventsInSource();
t.ok(events.size > 20, `${events.size} events found in src/`);
const missing = [...events].filter((e) => !section.includes(`\`${e}\``)).sort();
t.same(missing, [], 'every event the code writes is listed in the README');
