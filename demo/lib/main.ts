// The process shell every demo component shares: env parsing, a ready message, and a clean stop on any signal.
//
// Components run as child processes of `npm run demo` (demo/run.ts) or as containers (docker-compose.yml).
// Under run.ts they have an IPC channel: 'ready' goes there, and a lost channel (the parent died)
// stops them, so no component outlives the demo.

export interface Running {
  /** What the parent learns once the component serves (URLs, ports). */
  info: Record<string, unknown>;
  close(): Promise<void>;
}

export function log(name: string, message: string): void {
  process.stdout.write(`[${name}] ${message}\n`);
}

/** A required environment variable (with a default when the demo has a sensible one). */
export function env(name: string, fallback?: string): string {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') throw new Error(`environment variable ${name} is not set`);
  return value;
}

export function envPort(name: string, fallback: number): number {
  const raw = env(name, String(fallback));
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name}: not a port: ${raw}`);
  return port;
}

export function envList(name: string, fallback: string): string[] {
  return env(name, fallback)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Starts a component and keeps it running until SIGINT, SIGTERM or the parent goes away. */
export function runMain(name: string, start: () => Promise<Running>): void {
  let running: Running | undefined;
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    log(name, `stopping (${why})`);
    try {
      await running?.close();
    } finally {
      process.disconnect?.();
      process.exit(0);
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(signal));
  process.on('disconnect', () => void stop('parent gone'));
  start().then(
    (r) => {
      running = r;
      process.send?.({ ready: name, ...r.info });
    },
    (err: unknown) => {
      process.stderr.write(`[${name}] failed to start: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
