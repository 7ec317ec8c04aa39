// authward's version, from the nearest package.json named authward above this file: the repository's,
// the image's /app/package.json, or an npm install's (read once, at import).
import { readFileSync } from 'node:fs';

function findVersion(): string {
  for (let dir = new URL('.', import.meta.url), i = 0; i < 5; dir = new URL('..', dir), i++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as Record<string, unknown>;
      if (pkg.name === 'authward' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // no package.json here (or not JSON): look one folder up
    }
  }
  /* c8 ignore next */
  return 'unknown'; // a copy of dist/ without its package.json: still runs
}

export const VERSION = findVersion();
