// Runs the real CLI as a child process, from the current sources: compiled by `npm test`, or transpiled once.
//
// Under `npm test` the suite runs from .test-build/, where src/ was compiled beside the tests: the CLI
// runs from there. A TypeScript test run directly (`npx tap test/cli/x.test.ts`) transpiles src/ once
// per test process instead. Why not dist/: `npm run build` would race other test files and engineers
// writing dist/, and fails while anyone's work in progress does not type-check. Type-checking is
// `npm run typecheck`'s job; here only the process shell's behaviour counts.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { codeRoot, compiled, repoRoot } from '../helpers/repo-root.js';

let built: { dir: string; cli: string } | undefined;

/** The compiled cli.js, or src/**\/*.ts transpiled into a temp folder (removed at exit): its cli.js. */
export function cliPath(): string {
  if (compiled) return join(codeRoot, 'src', 'cli.js');
  if (built) return built.cli;
  const dir = mkdtempSync(join(tmpdir(), 'authward-cli-'));
  const src = join(repoRoot, 'src');
  // Loaded only here: the compiled run never needs the compiler (a second of CPU per test process).
  const ts: typeof import('typescript') = createRequire(import.meta.url)('typescript');
  for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const out = join(dir, relative(src, file)).replace(/\.ts$/, '.js');
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  // Named and versioned as the real one: the CLI reads its version from the nearest package.json.
  const { version } = JSON.parse(readFileSync(join(src, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ type: 'module', name: 'authward', version })}\n`,
  );
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  built = { dir, cli: join(dir, 'cli.js') };
  return built.cli;
}

/** The environment for a child: this one minus the test runner's hooks, plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of Object.keys(env))
    if (name === 'NODE_OPTIONS' || name.startsWith('_TAPJS')) delete env[name];
  return env;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

// A few runs at a time: a dozen node processes starting at once only slow each other down.
let running = 0;
const waiting: (() => void)[] = [];
async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= 4) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await work();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

/** Runs `authward ...args` to completion (at most four at once). */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<RunResult> {
  const cli = cliPath();
  return slot(() => run(cli, args, env, timeoutMs));
}

function run(
  cli: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { env: childEnv(env), timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Starts `authward ...args` and leaves it running; the caller stops it. */
export function startCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [cliPath(), ...args], { env: childEnv(env) });
}
