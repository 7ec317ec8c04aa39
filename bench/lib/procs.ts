// Child processes of a bench run: started with their output in a log file, waited for, and stopped by pid on any exit.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Child {
  name: string;
  pid: number;
  proc: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<string>;
  /** SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Child>();

export function startChild(
  name: string,
  command: string,
  args: string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Child {
  const fd = openSync(opts.logFile, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  if (proc.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const exited = new Promise<string>((resolve) => {
    proc.once('exit', (code, signal) => resolve(String(code ?? signal)));
    proc.once('error', (err) => resolve(`error: ${err.message}`));
  });
  const child: Child = {
    name,
    pid: proc.pid,
    proc,
    logFile: opts.logFile,
    exited,
    async stop(graceMs = 5_000) {
      live.delete(child);
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(child);
  exited.then(() => live.delete(child));
  return child;
}

/** Kills every child still running (synchronously: this also runs from the 'exit' event). */
export function killAll(): void {
  for (const child of live) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.clear();
}

/** Children die with the run: normal exit, an error, Ctrl-C or SIGTERM. */
export function installCleanup(): void {
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}: stopping everything it started\n`);
      killAll();
      process.exit(130);
    });
  }
}

/** Polls url until accept(status) or the timeout; fails early when the child exits. */
export async function waitForHttp(
  url: string,
  accept: (status: number) => boolean,
  timeoutMs: number,
  child?: Child,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (child && (child.proc.exitCode !== null || child.proc.signalCode !== null)) {
      throw new Error(`${child.name} exited during start-up:\n${tail(child.logFile)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (accept(res.status)) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(50);
  }
  throw new Error(
    `${url} not ready after ${timeoutMs} ms (${last})${child ? `:\n${tail(child.logFile)}` : ''}`,
  );
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Where `name` is on PATH, or undefined. */
export function which(name: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}
