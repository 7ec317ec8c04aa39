// Where the repository's files are, whether a test runs as TypeScript from test/ or compiled into .test-build/.
//
// `npm test` compiles src/, lab/ and test/ once into .test-build/ and runs the JavaScript there, so a
// path relative to a test's own file (`new URL('../../README.md', import.meta.url)`) would point into
// .test-build/, where only compiled code is. Read repository files through `repoPath` instead.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The repository root: the nearest folder above this file with a package.json (.test-build/ has none). */
export const repoRoot = ((): string => {
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${here}`);
  }
})();

/** A path inside the repository, e.g. `repoPath('config.yaml.example')`. */
export const repoPath = (...parts: string[]): string => join(repoRoot, ...parts);

/**
 * The folder the running code came from: the repository itself (TypeScript run directly) or .test-build/
 * (compiled by `npm test`); compiled code has src/ as JavaScript beside it, ready to run.
 */
export const codeRoot = resolve(here, '../..');

/** Whether this run is the compiled one (src/*.js under `codeRoot`), not TypeScript loaded on the fly. */
export const compiled = codeRoot !== repoRoot;
