// Shared set-up for the token-cache integration tests: IdP, APIs, replicas sharing a Redis, raw Redis views.
//
// Replicas are separate buildApp() instances, each making its own store from config (like real pods),
// with the same session keys so one cookie works on all of them. Browsers use host-scoped cookies:
// every replica is on 127.0.0.1, so a cookie set by one is sent to all, as behind a load balancer.
import { createHash } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import type t from 'tap';
import { Sealer } from '../../src/token-cache/crypto.js';
import type { Store } from '../../src/token-cache/store.js';
import { startApi, type TestApi } from '../helpers/api.js';
import { startApp, type TestApp } from '../helpers/app.js';
import { Browser, signIn } from '../helpers/browser.js';
import { newKey } from '../helpers/config.js';
import { type IdpOptions, startIdp, type TestIdp } from '../helpers/idp.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';

export type Tap = Parameters<Parameters<typeof t.test>[0]>[0];
type Raw = Record<string, unknown>;

/** The three APIs the test IdP knows: route path, scope, audience. */
export const API_DEFS = {
  orders: { path: '/api/orders', scope: 'api://orders/read', audience: 'api://orders' },
  graph: { path: '/api/graph', scope: 'api://graph/user.read', audience: 'api://graph' },
  bench: { path: '/api/bench', scope: 'api://bench/read', audience: 'api://bench' },
} as const;
export type ApiName = keyof typeof API_DEFS;

export interface World {
  idp: TestIdp;
  upstream: TestUpstream;
  apis: Record<ApiName, TestApi>;
  /** Session cookie key shared by every replica. */
  sessionKey: string;
  /** Token-cache encryption key (base64). */
  cacheKey: string;
  routes: Raw[];
}

/** IdP, echo upstream and the three APIs, closed at teardown. */
export async function startWorld(t: Tap, idpOptions: IdpOptions = {}): Promise<World> {
  const idp = await startIdp(idpOptions);
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const entries = await Promise.all(
    (Object.keys(API_DEFS) as ApiName[]).map(async (name) => {
      const d = API_DEFS[name];
      const api = await startApi(idp, { audience: d.audience, scope: d.scope });
      t.teardown(() => api.close());
      return [name, api] as const;
    }),
  );
  const apis = Object.fromEntries(entries) as Record<ApiName, TestApi>;
  const routes = (Object.keys(API_DEFS) as ApiName[]).map((name) => ({
    name,
    path: API_DEFS[name].path,
    target: apis[name].url,
    scopes: [API_DEFS[name].scope],
  }));
  return { idp, upstream, apis, sessionKey: newKey(), cacheKey: newKey(), routes };
}

/**
 * One authward replica (its own store from `tokenCache`, or `store` when given, which the caller then
 * closes), closed at teardown unless closed before.
 */
export async function startReplica(t: Tap, w: World, overrides: Raw = {}, store?: Store): Promise<TestApp> {
  const { session, ...rest } = overrides as { session?: Raw };
  const app = await startApp({
    idp: w.idp,
    upstreamUrl: w.upstream.url,
    ...(store === undefined ? {} : { store }),
    overrides: {
      routes: w.routes,
      session: { keys: [w.sessionKey], ...session },
      publicRoutes: [{ path: '/public/*' }],
      ...rest,
    },
  });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= app.close();
    return closed;
  };
  t.teardown(close);
  return { ...app, close };
}

/** tokenCache section for a standalone Redis (its URL) or a Cluster (its seed nodes). */
export const redisCache = (
  w: World,
  where: string | { host: string; port: number }[],
  keyPrefix: string,
  extra: Raw = {},
): Raw => ({
  type: 'redis',
  ...(typeof where === 'string' ? { url: where } : { cluster: where }),
  keyPrefix,
  encryptionKeys: [w.cacheKey],
  ...extra,
});

/** A browser whose cookies ignore the port (all replicas share them), signed in as `login`. */
export async function signedIn(t: Tap, w: World, app: TestApp, login: string): Promise<Browser> {
  const browser = new Browser({ ca: w.idp.caPem, cookieScope: 'host' });
  t.teardown(() => browser.close());
  const page = await signIn(browser, `${app.url}/`, { login });
  if (page.status !== 200 || page.url !== `${app.url}/`) {
    throw new Error(`sign-in as ${login} failed: ${page.status} ${page.url} ${page.body.slice(0, 200)}`);
  }
  return browser;
}

export interface RouteResult {
  status: number;
  /** The API's answer (sub, aud, ...) or authward's error JSON. */
  body: Record<string, unknown>;
  ms: number;
}

/** An API-style (non-navigation) GET: 401 JSON instead of a redirect when signed out. */
export async function call(
  browser: Browser,
  url: string,
  headers: Record<string, string> = {},
): Promise<RouteResult> {
  const started = performance.now();
  const res = await browser.fetch(url, { headers: { accept: 'application/json', ...headers } });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body, ms: performance.now() - started };
}

/** POST /.auth/logout as the app's own page would (same-origin Origin header). */
export async function logout(browser: Browser, app: TestApp): Promise<number> {
  const res = await browser.fetch(`${app.url}/.auth/logout`, {
    method: 'POST',
    headers: { origin: app.url },
  });
  await res.arrayBuffer();
  return res.status;
}

// ---------------------------------------------------------------- the store as Redis holds it

/** Every key under `prefix` (on every master of a cluster), without the prefix, sorted. */
export async function listKeys(client: Redis | Cluster, prefix: string): Promise<string[]> {
  const isCluster = 'nodes' in client && typeof client.nodes === 'function';
  if (isCluster && client.status !== 'ready') await once(client, 'ready');
  const nodes = isCluster ? (client as Cluster).nodes('master') : [client];
  const keys: string[] = [];
  for (const node of nodes as Redis[]) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys.map((k) => k.slice(prefix.length)).sort();
}

/** The MSAL cache JSON of one partition, as the replicas wrote it (sealed under `acct:<id>`). */
export async function readPartition(
  client: Redis | Cluster,
  prefix: string,
  key: string,
  cacheKey: string,
): Promise<MsalCache> {
  const blob = await client.getBuffer(prefix + key);
  if (!blob) throw new Error(`no ${key} in Redis`);
  const plain = new Sealer([Buffer.from(cacheKey, 'base64')]).open(blob, key);
  if (!plain) throw new Error(`${key} does not open with the configured key`);
  return JSON.parse(plain.toString('utf8')) as MsalCache;
}

export type MsalEntity = { home_account_id?: string; secret?: string; target?: string } & Raw;
export type MsalCache = Partial<
  Record<'Account' | 'AccessToken' | 'RefreshToken' | 'IdToken' | 'AppMetadata', Record<string, MsalEntity>>
>;

/** The key id a Sealer writes into a blob (bytes 1..4): which key encrypted it. */
export const keyFingerprint = (base64Key: string) =>
  createHash('sha256')
    .update('authward token-cache key id\0')
    .update(Buffer.from(base64Key, 'base64'))
    .digest()
    .subarray(0, 4)
    .toString('hex');
export const blobFingerprint = (blob: Buffer) => blob.subarray(1, 5).toString('hex');

/**
 * Resolves when an in-process app next sends a token request (POST .../token) to the provider: the moment
 * a refresh is under way and past every store read before it. Seen on undici's diagnostics channel, as
 * the request's headers are written, so no provider-side hook is needed.
 */
export function nextTokenRequest(timeoutMs = 8000): Promise<void> {
  return new Promise((resolve, reject) => {
    const listener = (message: unknown) => {
      const { request } = message as { request: { method: string; path: string } };
      if (request.method !== 'POST' || !request.path.split('?')[0]?.endsWith('/token')) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no token request within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      diagnostics.unsubscribe('undici:client:sendHeaders', listener);
    };
    diagnostics.subscribe('undici:client:sendHeaders', listener);
  });
}

/** Polls until `check` returns true (or throws after timeoutMs). */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The token-store state /readyz reports. */
export async function readyz(app: TestApp): Promise<{ status: number; tokenStore: string | undefined }> {
  const res = await fetch(`${app.url}/readyz`);
  const body = (await res.json()) as { dependencies?: Record<string, { state: string }> };
  return { status: res.status, tokenStore: body.dependencies?.tokenStore?.state };
}
