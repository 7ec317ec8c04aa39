// authward as production runs it: a YAML config, `node dist/cli.js --config <file>` with NODE_ENV=production.
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { newKey } from '../../lab/config.js';
import type { TestIdp } from '../../lab/idp.js';
import { freePort } from '../../lab/ports.js';
import { type Child, startChild, waitForHttp } from './procs.js';
import { ROOT, type Settings } from './settings.js';

export const API_SCOPE = 'api://bench/read';
export const API_AUDIENCE = 'api://bench';
/** The app's own API (apiClients: the audience and scope of the callers' bearer tokens). */
export const OWN_API = 'api://bench-app';
export const OWN_SCOPE = `${OWN_API}/access`;
/** The forwardAuth route (nginx carries it to the backend with the token authward answers). */
export const FWD_ROUTE = '/api/orders';
export const COOKIE = 'authward';

export interface Variant {
  /** Instance name: config file, log and Redis key prefix. */
  name: string;
  cache: 'memory' | 'redis';
  /** tokenCache.l1Ttl in seconds (default: the product's). */
  l1Ttl?: number;
  /** apiClients on: bearer tokens for OWN_API accepted; routes act on behalf of the caller. */
  apiClients?: boolean;
  /** forwardAuth on behind nginx (Deps.publicUrl): `/.auth/verify`, the FWD_ROUTE with forwardAuth. */
  forwardAuth?: boolean;
}

export interface Authward {
  variant: Variant;
  url: string;
  child: Child;
  /** tokenCache.keyPrefix / encryptionKeys[0] (redis variants), for pre-populating the store. */
  keyPrefix: string;
  tokenKey: string;
  /** When the process was spawned (Date.now()), to line a CPU profile up with the load. */
  spawnedAt: number;
  stop(): Promise<void>;
}

export interface Deps {
  idp: TestIdp;
  backendUrl: string;
  redisUrl?: string;
  /** publicUrl when not authward's own address (forwardAuth: the ingress in front). */
  publicUrl?: string;
}

/** The CLI to run: AUTHWARD_CLI (another build, e.g. a patched copy, to compare) or this checkout's dist/cli.js. */
export const authwardCli = () => process.env.AUTHWARD_CLI ?? join(ROOT, 'dist', 'cli.js');

/** Builds dist/ with `npm run build` when asked, or (auto) when src/ is newer than dist/cli.js. */
export function needsBuild(mode: Settings['build']): boolean {
  if (process.env.AUTHWARD_CLI) return false;
  if (mode !== 'auto') return mode === 'always';
  const cli = join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) return true;
  const built = statSync(cli).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  const inputs = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'];
  return Math.max(newest(join(ROOT, 'src')), ...inputs.map((f) => statSync(join(ROOT, f)).mtimeMs)) > built;
}

export async function startAuthward(
  s: Settings,
  v: Variant,
  d: Deps,
  nodeArgs: string[] = [],
): Promise<Authward> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const keyPrefix = `bench-${v.name}:`;
  const tokenKey = newKey();
  if (v.cache === 'redis' && !d.redisUrl) throw new Error(`${v.name}: needs Redis`);
  const config = {
    // Several workers need the Redis cache (they share sessions only through it).
    listen: { host: '127.0.0.1', port, ...(v.cache === 'redis' ? { workers: s.workers } : {}) },
    publicUrl: d.publicUrl ?? url,
    identity: {
      protocol: 'oidc',
      authority: d.idp.authority,
      clientId: d.idp.clients.secret.clientId,
      clientSecret: d.idp.clients.secret.clientSecret,
      caFile: d.idp.caFile,
    },
    session: { keys: [newKey()] },
    tokenCache:
      v.cache === 'memory'
        ? { type: 'memory', ...(v.l1Ttl ? { l1Ttl: v.l1Ttl } : {}) }
        : {
            type: 'redis',
            url: d.redisUrl,
            keyPrefix,
            encryptionKeys: [tokenKey],
            ...(v.l1Ttl ? { l1Ttl: v.l1Ttl } : {}),
          },
    upstream: { url: d.backendUrl },
    routes: [
      ...(v.forwardAuth
        ? [
            {
              name: 'orders',
              path: FWD_ROUTE,
              target: `${d.backendUrl}/v1`,
              scopes: [API_SCOPE],
              forwardAuth: true,
            },
          ]
        : []),
      { name: 'api', path: '/api', target: d.backendUrl, scopes: [API_SCOPE] },
    ],
    publicRoutes: [{ path: '/public/*' }],
    ...(v.apiClients
      ? { apiClients: { enabled: true, audiences: [OWN_API], requiredScopes: [OWN_SCOPE] } }
      : {}),
    ...(v.forwardAuth ? { forwardAuth: { enabled: true }, trustProxy: ['127.0.0.1'] } : {}),
    // Per-request access lines off (LOG_LEVEL=info turns them on), as for every system in the peer rig.
    logging: { level: s.logLevel },
    metrics: { enabled: true, host: '127.0.0.1', port: await freePort() },
  };
  const file = join(s.runDir, `authward-${v.name}.yaml`);
  writeFileSync(file, `# authward for bench instance ${v.name}\n${stringify(config)}`, { mode: 0o600 });
  const spawnedAt = Date.now();
  const child = startChild(
    `authward-${v.name}`,
    process.execPath,
    [...nodeArgs, authwardCli(), '--config', file],
    {
      logFile: join(s.runDir, `authward-${v.name}.log`),
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production' },
    },
  );
  await waitForHttp(`${url}/readyz`, (st) => st === 200, 30_000, child);
  return { variant: v, url, child, keyPrefix, tokenKey, spawnedAt, stop: () => child.stop() };
}
