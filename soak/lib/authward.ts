// authward as production runs it: `node dist/cli.js --config <file>`, a child process whose memory the run samples.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import type { TestIdp } from '../../lab/idp.js';
import { freePort } from '../../lab/ports.js';

export interface Authward {
  url: string;
  pid: number;
  logFile: string;
  /** Resident set size (VmRSS) and V8 heap in use, in bytes. */
  memory(): Promise<{ rss: number; heapUsed: number }>;
  /** Counters from the metrics endpoint, by metric name (unlabelled ones). */
  counters(names: string[]): Promise<Record<string, number>>;
  /** The token store state /readyz reports ('up', 'down'). */
  tokenStore(): Promise<string>;
  stop(): Promise<string>;
}

const newKey = () => randomBytes(32).toString('base64');

export async function startAuthward(o: {
  root: string;
  dir: string;
  idp: TestIdp;
  upstreamUrl: string;
  apiUrl: string;
  redisUrl: string;
}): Promise<Authward> {
  const port = await freePort();
  const metricsPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = {
    listen: { host: '127.0.0.1', port },
    publicUrl: url,
    identity: {
      protocol: 'oidc',
      authority: o.idp.authority,
      clientId: o.idp.clients.secret.clientId,
      clientSecret: o.idp.clients.secret.clientSecret,
      caFile: o.idp.caFile,
    },
    session: { keys: [newKey()] },
    tokenCache: { type: 'redis', url: o.redisUrl, keyPrefix: 'soak:', encryptionKeys: [newKey()] },
    upstream: { url: o.upstreamUrl },
    routes: [{ name: 'orders', path: '/api/orders', target: o.apiUrl, scopes: ['api://orders/read'] }],
    publicRoutes: [{ path: '/public/*' }],
    logging: { level: 'warn' },
    metrics: { enabled: true, host: '127.0.0.1', port: metricsPort },
  };
  const file = join(o.dir, 'authward.yaml');
  writeFileSync(file, stringify(config), { mode: 0o600 });
  const logFile = join(o.dir, 'authward.log');
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [join(o.root, 'dist', 'cli.js'), '--config', file], {
      cwd: o.root,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start authward');
  const exited = new Promise<string>((resolve) => child.once('exit', (c, s) => resolve(String(c ?? s))));
  process.once('exit', () => child.kill('SIGKILL'));

  const readyz = async () => {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
    return {
      status: res.status,
      body: (await res.json()) as { dependencies?: Record<string, { state: string }> },
    };
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`authward exited during start-up:\n${readFileSync(logFile, 'utf8')}`);
    try {
      if ((await readyz()).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`authward not ready after 30 s:\n${readFileSync(logFile, 'utf8')}`);
    await sleep(100);
  }

  const metrics = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  /** An unlabelled sample's value in Prometheus text format (NaN when absent). */
  /** A series' value, or the sum of its series with the given labels: `name` or `name{a="b",c="d"}`. */
  const metric = (text: string, series: string) => {
    const [name = '', filter = ''] = series.split(/(?=\{)/);
    const wanted = filter.slice(1, -1).split(',').filter(Boolean);
    let sum = Number.NaN;
    for (const line of text.split('\n')) {
      if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
      const labels = line.slice(name.length, line.lastIndexOf(' '));
      if (wanted.every((w) => labels.includes(w))) {
        sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return sum;
  };
  return {
    url,
    pid,
    logFile,
    async memory() {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) * 1024;
      return { rss, heapUsed: metric(await metrics(), 'nodejs_heap_size_used_bytes') };
    },
    async counters(names) {
      const text = await metrics();
      return Object.fromEntries(names.map((n) => [n, metric(text, n)]));
    },
    async tokenStore() {
      try {
        return (await readyz()).body.dependencies?.tokenStore?.state ?? 'unknown';
      } catch {
        return 'unreachable';
      }
    },
    async stop() {
      if (child.exitCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
