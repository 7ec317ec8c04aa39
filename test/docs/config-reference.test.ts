// The README's configuration reference is exactly what the schema generates (docs cannot drift).
import { readFileSync } from 'node:fs';
import t from 'tap';
import { configReference } from '../../src/config/reference.js';
import { repoPath } from '../helpers/repo-root.js';

t.test('README config reference matches the schema', async (t) => {
  const readme = readFileSync(repoPath('README.md'), 'utf8');
  const section = /<!-- config-reference:start[^>]*-->\n([\s\S]*?)\n<!-- config-reference:end -->/.exec(
    readme,
  )?.[1];
  t.ok(section, 'README has the generated section');
  t.equal(section, configReference(), 'stale: run `npm run docs`');
  for (const key of [
    'identity.clientSecretFile',
    'tokenCache.encryptionKeys',
    'routes[].scopes',
    'publicRoutes[].path',
  ]) {
    t.match(section ?? '', `\`${key}\``, `${key} is documented`);
  }
});
