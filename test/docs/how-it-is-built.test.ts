// The README's tour ("How it is built") names every folder of src/, so it cannot fall behind the tree.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

// tap runs from the repository root (the test file itself may be compiled elsewhere).
const root = process.cwd();

t.test('README "How it is built" has a paragraph for each src/ folder', async (t) => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = /\n## How it is built\n([\s\S]*?)(?=\n## )/.exec(readme)?.[1];
  t.ok(section, 'README has the section');
  const folders = readdirSync(join(root, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  t.ok(folders.length > 5, 'src/ has its folders');
  const paragraphs = (section ?? '').split(/\n\s*\n/);
  for (const folder of folders) {
    const own = paragraphs.filter((p) => p.trimStart().startsWith(`**\`src/${folder}/\`**`));
    t.equal(own.length, 1, `src/${folder}/ has one paragraph of its own`);
  }
  const named = [...(section ?? '').matchAll(/\*\*`src\/([^/`]+)\/`\*\*/g)].map((m) => m[1]);
  t.same(
    named.filter((n) => !folders.includes(n as string)),
    [],
    'and names no folder that is gone',
  );
});
