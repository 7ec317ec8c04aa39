// The test world: one call starts what a test needs (IdP, upstream, downstream APIs, Redis, authward instances), one close ends it.
//
//   const w = await startWorld(t, {
//     idp: { accessTokenTTL: 300 } | false,   // default {}: the real test IdP (lab/idp.ts); false: none
//     upstream: { tls } | { url } | false,      // default: the echo upstream (lab/upstream.ts); { url }: use that one
//     apis: ['orders', 'graph'] | { name: { path, scope, audience, base? } }, // APIs + one route each, scopes given to the IdP
//     redis: true | 'cluster',                  // real redis-server(s); tokenCache points there, sealed with w.cacheKey
//     config: { ... } | (w) => ({ ... }),       // merged into the app config (a function sees idp/upstream/apis first)
//     public: true,                             // every path public ('/*'): proxy tests, with or without an IdP
//     logs: true | 'debug',                     // capture the first instance's log lines in w.logs
//     store, logger, port,                      // AppDeps / listen port of the first instance
//     app: false,                               // start no instance now (w.start() later)
//     cookieScope: 'host',                      // w.browser()s share cookies across ports (replicas)
//   });
//   w.idp  w.upstream  w.apis.orders  w.routes  w.redis  w.cluster  w.sessionKey  w.cacheKey
//   w.app / w.url / w.port / w.config         // the first instance, like a TestApp (w.apps: every instance)
//   await w.start(overrides?, { store, logger, port })   // another instance or replica (same session key)
//   w.browser({ cookieScope })                // a Browser trusting the IdP's CA
//   await w.signIn('alice', { app, browser, path })       // a signed-in Browser (throws if sign-in fails)
//   await w.close()                           // everything, in reverse order (also at t.teardown)
//
// Everything here is closed at t.teardown. The lower-level parts (startApp, raw requests, log capture,
// store views, XHR/NAV) are exported from here too: a test imports one module.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Test } from 'tap';
import { startApi, type TestApi } from '../../lab/api.js';
import { Browser, type BrowserOptions, signIn } from '../../lab/browser.js';
import { mergeRaw, newKey, testConfig } from '../../lab/config.js';
import { DEFAULT_API_SCOPES, type IdpOptions, startIdp, type TestIdp } from '../../lab/idp.js';
import { freePort } from '../../lab/ports.js';
import { startRedis, startRedisCluster, type TestRedis, type TestRedisCluster } from '../../lab/redis.js';
import { type StartUpstreamOptions, startUpstream, type TestUpstream } from '../../lab/upstream.js';
import { type AppDeps, buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import type { Store } from '../../src/token-cache/store.js';
import { captureLogger, type LogLine } from './logs.js';

export { rawConfig, testConfig } from '../../lab/config.js';
export * from './capture.js';
export * from './logs.js';
export * from './raw.js';
export * from './requests.js';
export * from './stores.js';

type Raw = Record<string, unknown>;
/** The `t` of a subtest. */
export type Tap = Test;

// ---------------------------------------------------------------------------------------- one instance

export interface TestApp {
  app: FastifyInstance;
  url: string;
  port: number;
  config: Config;
  close(): Promise<void>;
}

/** The identity section for a test IdP (secret client; mode decides protocol). */
export function identityFor(idp: TestIdp, extra: Raw = {}): Raw {
  return {
    protocol: idp.mode,
    authority: idp.authority,
    clientId: idp.clients.secret.clientId,
    clientSecret: idp.clients.secret.clientSecret,
    caFile: idp.caFile,
    ...extra,
  };
}

export interface StartAppOptions {
  /** The provider; without one the identity section stays a closed https port (the app never gets ready). */
  idp?: TestIdp | undefined;
  upstreamUrl: string;
  overrides?: Raw;
  store?: Store | undefined;
  /** A logger to read what the app logged (captureLogger). */
  logger?: Logger | undefined;
  port?: number | undefined;
}

/**
 * Starts one authward on 127.0.0.1. With an IdP: publicUrl is its own URL and it is waited on until ready.
 * Without one (proxy tests): publicUrl stays the test config's (or the override's) and it never gets ready.
 */
export async function startApp(opts: StartAppOptions): Promise<TestApp> {
  // A free port is only free until bound: a test file running beside this one (or an outgoing
  // connection's ephemeral port) can take it in between. A port picked here is picked again then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startAppOn(opts, opts.port ?? (await freePort()));
    } catch (err) {
      const taken = (err as { code?: string }).code === 'EADDRINUSE';
      if (!taken || opts.port !== undefined || attempt >= 5) throw err;
    }
  }
}

async function startAppOn(opts: StartAppOptions, port: number): Promise<TestApp> {
  const url = `http://127.0.0.1:${port}`;
  const over = opts.overrides ?? {};
  const config = testConfig({
    ...over,
    listen: { host: '127.0.0.1', port },
    // With a provider the app signs in at its own URL (its redirect URI): publicUrl is that, always.
    ...(opts.idp ? { publicUrl: url, identity: identityFor(opts.idp, (over.identity as Raw) ?? {}) } : {}),
    upstream: { url: opts.upstreamUrl, ...((over.upstream as Raw) ?? {}) },
  });
  const deps: AppDeps = {
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  };
  const app = await buildApp(config, deps);
  try {
    await app.listen({ host: '127.0.0.1', port });
  } catch (err) {
    await app.close();
    throw err;
  }
  if (opts.idp) await waitReady(app);
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= app.close();
    return closed;
  };
  return { app, url, port, config, close };
}

/** Resolves once the app finished its own start-up (provider discovery). */
export async function waitReady(app: FastifyInstance, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!app.readiness.ready) {
    if (Date.now() > deadline) throw new Error(`app not ready: ${JSON.stringify(app.readiness.report())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------------------------------- the world

/** A downstream API: where its route is, the scope it requires, the audience it accepts. */
export interface ApiDef {
  /** The route's path; without one no route is made (the test's config names it). */
  path?: string;
  scope: string;
  audience: string;
  /** Appended to the API's URL as the route target (e.g. '/v1'). */
  base?: string;
}

/** The APIs the tests know by name. */
export const API_DEFS = {
  orders: { path: '/api/orders', scope: 'api://orders/read', audience: 'api://orders' },
  graph: { path: '/api/graph', scope: 'api://graph/user.read', audience: 'api://graph' },
  bench: { path: '/api/bench', scope: 'api://bench/read', audience: 'api://bench' },
} as const satisfies Record<string, ApiDef>;
export type ApiName = keyof typeof API_DEFS;

/** What exists before the first instance starts (what a `config` function sees). */
export interface WorldParts<K extends string = never> {
  idp: TestIdp;
  upstream: TestUpstream;
  /** By name; the named ones of API_DEFS are typed as present. */
  apis: Record<ApiName | K, TestApi>;
  routes: Raw[];
  redis: TestRedis | undefined;
  cluster: TestRedisCluster | undefined;
  sessionKey: string;
  cacheKey: string;
}

export interface WorldOptions<K extends string = never> {
  idp?: IdpOptions | false;
  upstream?: StartUpstreamOptions | { url: string } | false;
  apis?: ApiName[] | Record<K, ApiDef>;
  redis?: boolean | 'cluster';
  config?: Raw | ((w: WorldParts<K>) => Raw);
  public?: boolean;
  logs?: boolean | string;
  store?: Store;
  logger?: Logger;
  port?: number;
  app?: boolean;
  /** Cookie scope of w.browser() (default 'origin'); 'host' when replicas on other ports share the cookie. */
  cookieScope?: 'origin' | 'host';
}

export interface World<K extends string = never> extends WorldParts<K> {
  /** The first instance's app, URL, port and config, as a TestApp has them (throw when none started). */
  readonly app: FastifyInstance;
  readonly url: string;
  readonly port: number;
  readonly config: Config;
  /** Every instance started, first one first. */
  readonly apps: TestApp[];
  /** Log lines of the first instance (with `logs`). */
  logs: LogLine[];
  start(overrides?: Raw, deps?: { store?: Store; logger?: Logger; port?: number }): Promise<TestApp>;
  browser(opts?: BrowserOptions): Browser;
  signIn(login: string, opts?: { app?: { url: string }; browser?: Browser; path?: string }): Promise<Browser>;
  close(): Promise<void>;
}

const noIdp = new Proxy({} as TestIdp, {
  get: (_, key) => {
    throw new Error(`this world has no IdP (idp: false): idp.${String(key)}`);
  },
});

/** Starts the world `opts` asks for; everything is closed at t.teardown (or by w.close()). */
export function startWorld<K extends string>(
  t: Test,
  opts: WorldOptions<K> & { apis: Record<K, ApiDef> & { length?: never } },
): Promise<World<K>>;
export function startWorld(t: Test, opts?: WorldOptions): Promise<World>;
export async function startWorld<K extends string = never>(
  t: Test,
  opts: WorldOptions<K> = {},
): Promise<World<K>> {
  const closers: (() => Promise<unknown> | unknown)[] = [];
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      for (const c of closers.reverse()) await c();
    })();
    return closing;
  };
  t.teardown(close);
  const own = <T extends { close(): Promise<unknown> | unknown }>(part: T): T => {
    closers.push(() => part.close());
    return part;
  };

  const defs: Record<string, ApiDef> = Array.isArray(opts.apis)
    ? Object.fromEntries(opts.apis.map((n) => [n, API_DEFS[n]]))
    : (opts.apis ?? {});
  const scopes = Object.values(defs).map((d) => d.scope);
  const idp =
    opts.idp === false
      ? noIdp
      : own(
          await startIdp({
            ...opts.idp,
            ...(scopes.length
              ? { apiScopes: [...new Set([...(opts.idp?.apiScopes ?? DEFAULT_API_SCOPES), ...scopes])] }
              : {}),
          }),
        );
  const upstream: TestUpstream =
    opts.upstream === false
      ? ({ url: 'http://127.0.0.1:1' } as TestUpstream)
      : opts.upstream && 'url' in opts.upstream
        ? ({ url: opts.upstream.url } as TestUpstream)
        : own(await startUpstream(opts.upstream ?? {}));
  const apis = {} as Record<string, TestApi>;
  for (const [name, d] of Object.entries(defs))
    apis[name] = own(await startApi(idp, { audience: d.audience, scope: d.scope }));
  const routes = Object.entries(defs).flatMap(([name, d]) =>
    d.path ? [{ name, path: d.path, target: `${apis[name]?.url}${d.base ?? ''}`, scopes: [d.scope] }] : [],
  );
  const redis = opts.redis === true ? await startRedis() : undefined;
  if (redis) closers.push(() => redis.stop());
  const cluster = opts.redis === 'cluster' ? await startRedisCluster() : undefined;
  if (cluster) closers.push(() => cluster.stop());

  const parts: WorldParts<K> = {
    idp,
    upstream,
    apis: apis as WorldParts<K>['apis'],
    routes,
    redis,
    cluster,
    sessionKey: newKey(),
    cacheKey: newKey(),
  };
  const base: Raw = {
    session: { keys: [parts.sessionKey] },
    ...(routes.length ? { routes } : {}),
    ...(opts.public ? { publicRoutes: [{ path: '/*' }] } : {}),
    ...(redis ? { tokenCache: redisCache(parts, redis.url, 'aw:') } : {}),
    ...(cluster ? { tokenCache: redisCache(parts, cluster.nodes, 'aw:') } : {}),
  };
  const extra = typeof opts.config === 'function' ? opts.config(parts) : (opts.config ?? {});
  const merged = mergeRaw(base, extra);

  const apps: TestApp[] = [];
  const start: World<K>['start'] = async (overrides = {}, deps = {}) => {
    const app = await startApp({
      idp: opts.idp === false ? undefined : idp,
      upstreamUrl: upstream.url,
      overrides: mergeRaw(merged, overrides),
      store: deps.store,
      logger: deps.logger,
      port: deps.port,
    });
    closers.push(() => app.close());
    apps.push(app);
    return app;
  };
  const first = () => {
    const a = apps[0];
    if (!a) throw new Error('no authward instance started (app: false): call w.start()');
    return a;
  };

  const captured = opts.logs ? captureLogger(opts.logs === true ? 'info' : opts.logs) : undefined;
  const world: World<K> = {
    ...parts,
    get app() {
      return first().app;
    },
    get url() {
      return first().url;
    },
    get port() {
      return first().port;
    },
    get config() {
      return first().config;
    },
    apps,
    logs: captured?.lines ?? [],
    start,
    browser(browserOpts = {}) {
      const b = new Browser({
        ...(opts.idp === false ? {} : { ca: idp.caPem }),
        ...(opts.cookieScope && { cookieScope: opts.cookieScope }),
        ...browserOpts,
      });
      closers.push(() => b.close());
      return b;
    },
    async signIn(login, o = {}) {
      const app = o.app ?? first();
      const browser = o.browser ?? world.browser();
      const page = await signIn(browser, `${app.url}${o.path ?? '/'}`, { login });
      if (page.status !== 200 || !page.url.startsWith(app.url)) {
        throw new Error(`sign-in as ${login} failed: ${page.status} ${page.url} ${page.body.slice(0, 200)}`);
      }
      return browser;
    },
    close,
  };
  if (opts.app !== false) {
    const logger = captured?.logger ?? opts.logger;
    await start(
      {},
      {
        ...(opts.store && { store: opts.store }),
        ...(logger && { logger }),
        ...(opts.port && { port: opts.port }),
      },
    );
  }
  return world;
}

/** tokenCache section for a standalone Redis (its URL) or a Cluster (its seed nodes). */
export const redisCache = (
  w: { cacheKey: string },
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
