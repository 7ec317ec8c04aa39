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

/** The backend's counters: requests served (hits) and TCP connections accepted. */
export async function backendStats(backendUrl: string): Promise<{ requests: number; connections: number }> {
  const res = await fetch(`${backendUrl}/_bench/stats`);
  return (await res.json()) as { requests: number; connections: number };
}
