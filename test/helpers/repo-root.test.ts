// Test code finds repository files through repo-root.ts, so it runs the same from test/ and from .test-build/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { codeRoot, compiled, repoPath, repoRoot } from './repo-root.js';

t.test('repoRoot is the repository; compiled code has src/ beside it', async (t) => {
  t.ok(existsSync(repoPath('package.json')), 'package.json');
  t.ok(existsSync(repoPath('README.md')), 'README.md');
  t.ok(existsSync(join(codeRoot, 'src', compiled ? 'cli.js' : 'cli.ts')), `src/cli of ${codeRoot}`);
});

// `npm test` runs the suite compiled into .test-build/, where nothing but compiled code is: a path taken
// relative to a test's own file works when the TypeScript runs directly and fails in the suite.
const OWN_PLACE = [
  /new URL\(\s*['"`]\.\.?\//, // new URL('../../README.md', import.meta.url)
  /import\.meta\.(dirname|filename)/,
  /\b__(dirname|filename)\b/,
  /dirname\(\s*fileURLToPath\(\s*import\.meta\.url/,
];

t.test('no test code locates files relative to its own place (use repoPath)', async (t) => {
  const offenders: string[] = [];
  for (const top of ['test', 'lab']) {
    const dir = repoPath(top);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const file = join(entry.parentPath, entry.name);
      if (file.startsWith(repoPath('test/helpers/repo-root'))) continue; // this helper and this test
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (OWN_PLACE.some((re) => re.test(line))) offenders.push(`${relative(repoRoot, file)}:${i + 1}`);
        });
    }
  }
  t.same(offenders, [], 'read repository files through repoPath() from test/helpers/repo-root.ts');
});
