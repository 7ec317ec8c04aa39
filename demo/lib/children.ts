// The demo's child processes: start with a ready signal, watch for early deaths, stop them all on the way out.
//
// Each child gets its own process group (detached), so a terminal's Ctrl-C reaches only the demo
// runner, which then stops every child exactly once with SIGTERM (authward treats a second signal
// as "exit now"). The IPC channel doubles as a lifeline: a component whose runner died stops itself.
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Child {
  name: string;
  process: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  exited: Promise<number | string>;
}

export class Children {
  private readonly all: Child[] = [];
  /** Called when a child exits while the demo is not stopping. */
  onUnexpectedExit: (child: Child, code: number | string) => void = () => undefined;
  stopping = false;

  get list(): readonly Child[] {
    return this.all;
  }

  /** Starts `node script ...args`; with `ipc`, resolves once the child sends `{ ready }`. */
  start(name: string, script: string, args: string[], env: NodeJS.ProcessEnv, ipc: boolean): Child {
    const proc = spawn(process.execPath, [script, ...args], {
      env,
      detached: true,
      stdio: ipc ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<number | string>((resolve) => {
      proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      proc.once('error', (err) => {
        process.stderr.write(`[demo] cannot start ${name}: ${err.message}\n`);
        resolve('spawn error');
      });
    });
    const child = { name, process: proc, exited };
    void exited.then((code) => {
      if (!this.stopping) this.onUnexpectedExit(child, code);
    });
    this.all.push(child);
    return child;
  }

  /** The `{ ready, ... }` message of an IPC child. */
  ready(child: Child, timeoutMs: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${child.name} not ready after ${timeoutMs} ms`)),
        timeoutMs,
      );
      child.process.on('message', (m: Record<string, unknown>) => {
        if (m && typeof m === 'object' && 'ready' in m) {
          clearTimeout(timer);
          resolve(m);
        }
      });
      void child.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${child.name} exited (${code}) before it was ready`));
      });
    });
  }

  /** SIGTERM to every child still running; SIGKILL whoever is left after `graceMs`. */
  async stopAll(graceMs: number): Promise<void> {
    this.stopping = true;
    const running = this.all.filter((c) => c.process.exitCode === null && c.process.signalCode === null);
    for (const c of running) c.process.kill('SIGTERM');
    const done = Promise.all(running.map((c) => c.exited));
    const late = await Promise.race([done.then(() => false), sleep(graceMs, true, { ref: false })]);
    if (late) {
      for (const c of running) {
        if (c.process.exitCode === null && c.process.signalCode === null) {
          process.stderr.write(`[demo] ${c.name} did not stop in time: killing it\n`);
          c.process.kill('SIGKILL');
        }
      }
      await done;
    }
  }

  /** Last resort on any exit path: no child survives the runner. */
  killAllSync(): void {
    for (const c of this.all) {
      if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
    }
  }
}
