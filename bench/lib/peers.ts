// The systems authward is measured against: the backend itself, nginx, and bare fastify + @fastify/http-proxy.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../lab/ports.js';
import { type Child, startChild, waitForHttp } from './procs.js';
import { BENCH, ROOT, type Settings } from './settings.js';

export interface Server {
  url: string;
  port: number;
  child: Child;
}

export async function startBackend(s: Settings): Promise<Server> {
  const port = await freePort();
  const child = startChild('backend', process.execPath, [join(BENCH, 'servers', 'backend.mjs')], {
    logFile: join(s.runDir, 'backend.log'),
    env: { ...process.env, BACKEND_PORT: String(port), BODY_BYTES: String(s.bodyBytes) },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/_bench/stats`, (st) => st === 200, 10_000, child);
  return { url, port, child };
}

export async function startBareProxy(
  s: Settings,
  backendUrl: string,
  nodeArgs: string[] = [],
): Promise<Server> {
  const port = await freePort();
  const child = startChild(
    'bare-proxy',
    process.execPath,
    [...nodeArgs, join(BENCH, 'servers', 'bare-proxy.mjs')],
    {
      logFile: join(s.runDir, 'bare-proxy.log'),
      cwd: ROOT, // resolves fastify and @fastify/http-proxy from the project's node_modules
      env: { ...process.env, NODE_ENV: 'production', PROXY_PORT: String(port), UPSTREAM_URL: backendUrl },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, (st) => st === 200, 15_000, child);
  return { url, port, child };
}

export async function startNginx(s: Settings, nginx: string, backendPort: number): Promise<Server> {
  const port = await freePort();
  const dir = join(s.runDir, 'nginx');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const conf = readFileSync(join(BENCH, 'conf', 'nginx.conf.tmpl'), 'utf8')
    .replaceAll('@@DIR@@', dir)
    .replaceAll('@@BACKEND_PORT@@', String(backendPort))
    .replaceAll('@@PORT@@', String(port));
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  // -e: the start-up error log too, so nothing is written to /var/log/nginx.
  const child = startChild('nginx', nginx, ['-p', dir, '-e', join(dir, 'nginx-error.log'), '-c', confFile], {
    logFile: join(s.runDir, 'nginx.log'),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, (st) => st === 200, 10_000, child);
  return { url, port, child };
}

/**
 * nginx with docs/forward-auth/nginx.conf (the shipped server block, its ${NAME} placeholders naming the
 * template's keep-alive upstream pools, as the file's header advises) in front of the backend, asking
 * authward's verify endpoint. `port` is picked before authward starts:
 * it is authward's publicUrl.
 */
export async function startForwardAuthNginx(
  s: Settings,
  nginx: string,
  port: number,
  /** host:port of authward and of the backend (keep-alive pools `authward` and `backend` in the template). */
  pool: { authward: string; backend: string },
): Promise<Server> {
  const dir = join(s.runDir, 'nginx-forward-auth');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const all: Record<string, string> = {
    LISTEN: `127.0.0.1:${port}`,
    AUTHWARD: 'http://authward',
    BACKEND: 'http://backend',
    ORDERS_API: 'http://backend',
  };
  const server = readFileSync(join(ROOT, 'docs', 'forward-auth', 'nginx.conf'), 'utf8').replace(
    /\$\{([A-Z_]+)\}/g,
    (_m, name: string) => {
      const value = all[name];
      if (value === undefined) throw new Error(`docs/forward-auth/nginx.conf: no value for \${${name}}`);
      return value;
    },
  );
  writeFileSync(join(dir, 'server.conf'), server);
  const conf = readFileSync(join(BENCH, 'conf', 'nginx-forward-auth.conf.tmpl'), 'utf8')
    .replaceAll('@@DIR@@', dir)
    .replaceAll('@@AUTHWARD@@', pool.authward)
    .replaceAll('@@BACKEND@@', pool.backend);
  const confFile = join(dir, 'nginx.conf');
  writeFileSync(confFile, conf);
  const child = startChild(
    'nginx-fwd',
    nginx,
    ['-p', dir, '-e', join(dir, 'nginx-error.log'), '-c', confFile],
    {
      logFile: join(s.runDir, 'nginx-forward-auth.log'),
    },
  );
  const url = `http://127.0.0.1:${port}`;
  // A public path answers 200 once nginx and authward both listen.
  await waitForHttp(`${url}/public/ready`, (st) => st === 200, 10_000, child);
  return { url, port, child };
}

/** The backend's counters: requests served (hits) and TCP connections accepted. */
export async function backendStats(backendUrl: string): Promise<{ requests: number; connections: number }> {
  const res = await fetch(`${backendUrl}/_bench/stats`);
  return (await res.json()) as { requests: number; connections: number };
}
