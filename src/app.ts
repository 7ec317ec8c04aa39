// buildApp(config): the request pipeline, one stage a line, in the order a request meets them.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { identityHeaders } from './auth/claims.js';
import { authPlugin } from './auth/plugin.js';
import type { Config } from './config/schema.js';
import { configWarnings } from './config/warnings.js';
import { BadRequestError, MethodNotAllowedError, NotFoundError, TooManyHeadersError } from './errors.js';
import { healthPlugin } from './health/plugin.js';
import { Readiness } from './health/readiness.js';
import { createLogger, lazyChildLogger } from './logger.js';
import { Metrics } from './metrics/metrics.js';
import { serveMetrics } from './metrics/server.js';
import { bodyLimits } from './proxy/body-limit.js';
import { canonicalPath } from './proxy/canonical-path.js';
import { forwardPlugin } from './proxy/forward.js';
import { ForwardedOrigin, forwardContext, HOST_SYNTAX } from './proxy/forward-context.js';
import { OWN, routeTable, tokenPreHandler, tokenRoutesPlugin } from './proxy/token-routes.js';
import { errorHandler, OWN_PAGE_HEADERS, sendError } from './responses.js';
import { cookieNames, sessionCookiePlugin } from './session/cookie.js';
import { SessionRecords } from './session/records.js';
import { sealerFromConfig } from './token-cache/crypto.js';
import { createStore } from './token-cache/factory.js';
import type { Store } from './token-cache/store.js';
import { discoverWithRetry } from './tokens/discovery.js';
import { idTokenVerifier } from './tokens/id-token.js';
import { Provider } from './tokens/provider.js';
import { TokenService } from './tokens/token-service.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Decoded, dot-segment-free path (no query): what routing, auth and route choice use. */
    canonicalPath: string;
    /** The client left before its answer was complete (logged as 499 then, not again). */
    abandoned: boolean;
    /** performance.now() when the request arrived (for requests that never get a reply). */
    startedAt: number;
  }
}

export interface AppDeps {
  logger?: Logger;
  readiness?: Readiness;
  /** A shared store (tests run several replicas on one); otherwise one is made from tokenCache. */
  store?: Store;
  /** Serve metrics.port here (default); a cluster worker leaves it to the primary (src/workers.ts). */
  metricsServer?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Header lines per request: browsers send about 20; Envoy refuses past 100 by default. Together with
// Node's 16 KB header size limit (431 past it) this is the header budget.
const MAX_HEADERS = 200;
const PROXIED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const AFTER_REFUSAL = 'request after a refused one on the same connection';

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const readiness = deps.readiness ?? new Readiness();
  const logger = deps.logger ?? createLogger(config.logging.level, config.logging.pretty);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One access line per request, written in onResponse below (with the route and user hash).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    trustProxy: config.trustProxy as boolean | string[],
    genReqId: (req) => {
      const id = req.headers['x-request-id'];
      return typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: false,
    routerOptions: { maxParamLength: 2048 },
  });
  app.setChildLoggerFactory(lazyChildLogger as unknown as typeof app.childLoggerFactory);
  app.decorate('readiness', readiness);
  app.decorate('forwardedOrigin', new ForwardedOrigin(config.publicUrl, config.trustProxy));
  app.decorateRequest('canonicalPath', '');
  app.decorateRequest('startedAt', 0);

  // 1. One canonical path, one Host, a bounded header block and a method worth proxying, or refused:
  //    nothing downstream ever sees an ambiguous request, and the router agrees with the path rules.
  app.server.maxHeadersCount = 0; // count every header (Node would silently drop those past 2000)
  app.server.on('connect', refuseConnect); // CONNECT never reaches fastify: answer it, do not just drop it
  const routeOf = routeTable(config);
  // (Hooks on every request take a callback rather than being async: one promise and tick less each.)
  // A connection told to close carries nothing more upstream: a request pipelined behind a refused one
  // would otherwise be forwarded (its answer then thrown away with the connection).
  const closing = new WeakSet<object>();
  app.addHook('onRequest', (request, reply, done) => {
    request.startedAt = performance.now();
    reply.header('x-request-id', request.id);
    const socket = request.raw.socket;
    const refused = closing.has(socket) ? new BadRequestError(AFTER_REFUSAL) : refusal(request, routeOf);
    if (refused) {
      closing.add(socket);
      reply.header('connection', 'close'); // malformed or ambiguous: never reused
      if (request.method === 'TRACE') reply.header('allow', PROXIED_METHODS);
    }
    done(refused);
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => sendError(request, reply, new NotFoundError()));
  // Every answer authward writes itself carries the own-page headers (errors and redirects set them
  // where they are made; this covers probes and anything added later). An answer given before the body
  // was read closes the connection: draining an unwanted upload would read it all (Node does so for
  // keep-alive), and the next request on that connection could not start until it ended.
  app.addHook('onSend', (request, reply, payload, done) => {
    const config = request.routeOptions.config;
    if (config.public || request.is404) reply.headers(OWN_PAGE_HEADERS);
    if (!request.raw.complete && hasBody(request)) reply.header('connection', 'close');
    done(null, payload);
  });
  // Body limits (upstream.bodyLimit, routes[].bodyLimit): after the session check, before forwarding.
  bodyLimits(app);

  // Parts the stages share: token store, provider, tokens, session records.
  const store = deps.store ?? createStore(config.tokenCache, logger);
  store.onStatus((status, detail) => readiness.setDependency('tokenStore', status, detail));
  for (const warning of configWarnings(config)) logger.warn({ event: 'config' }, warning);
  const sealer = sealerFromConfig(config.tokenCache);
  const provider = new Provider(config.identity, logger);
  // The provider refusing this application (invalid_client) is a configuration error: not ready until fixed.
  provider.onMisconfigured(() => readiness.require('identity provider accepts this application'));
  provider.setRouteResources(config.routes);
  const tokens = new TokenService(provider, store, sealer, config.tokenCache, logger);
  const idp = config.identity.protocol === 'aad' ? 'aad' : new URL(provider.authority).host;
  const records = new SessionRecords(store, sealer, config.session.revocationCheckInterval, (r) =>
    identityHeaders(r.c, config.upstream.identityHeaders, idp),
  );
  store.onStatus((status) => {
    if (status === 'up') records.retryDeletes();
  });
  let verifyIdToken: ReturnType<typeof idTokenVerifier> | undefined;
  const stopDiscovery = discoverWithRetry(provider, readiness, logger, (doc) => {
    verifyIdToken = idTokenVerifier(config.identity, doc, provider.http, logger);
  });
  app.decorate('tokens', tokens);
  const metrics = config.metrics.enabled ? new Metrics({ tokens, store, readiness }) : null;
  app.decorate('metrics', metrics);
  if (metrics && deps.metricsServer !== false) serveMetrics(app, metrics, config.metrics);
  // Access log and request metrics: one line and one observation per request, nothing when off.
  const accessLog = logger.isLevelEnabled('info');
  if (accessLog || metrics) {
    const record = (request: FastifyRequest, status: number, ms: number) => {
      const route = routeName(request);
      metrics?.request(route, status, ms / 1000);
      if (!accessLog) return;
      // On the root logger with the request id: the request's own logger is made only when used.
      logger.info(
        {
          requestId: request.id,
          method: request.method,
          route,
          path: request.canonicalPath,
          status,
          ms: Math.round(ms * 100) / 100,
          user: request.auth?.record.user,
        },
        'request',
      );
    };
    app.decorateRequest('abandoned', false);
    app.addHook('onResponse', (request, reply, done) => {
      if (!request.abandoned) record(request, reply.statusCode, reply.elapsedTime);
      done();
    });
    // A client that leaves before its answer is complete gets no onResponse: logged as 499 (nginx's
    // "client closed request") so aborts and their timing are visible, once.
    app.addHook('onRequestAbort', (request, done) => {
      request.abandoned = true;
      record(request, 499, performance.now() - request.startedAt);
      done();
    });
  }
  app.addHook('onClose', async () => {
    stopDiscovery();
    await provider.close();
    if (!deps.store) await store.close();
  });
  const names = cookieNames(config);

  // 3. Health probes: before auth, never proxied.
  await app.register(healthPlugin, { ...config.health, readiness });
  // 4. The encrypted session cookie (decoded lazily per request).
  await sessionCookiePlugin(app, config, names);
  // 5. Sign-in endpoints, then the session check and authorization for everything not public.
  await app.register(authPlugin, {
    config,
    provider,
    tokens,
    records,
    names,
    verifyIdToken: () => verifyIdToken,
    idp,
    extraScopes: config.identity.routeScopes === 'signIn' ? signInScopes(config) : [],
  });
  // 6. Downstream API routes: a bearer token injected per route (longest prefix wins in the router).
  await app.register(tokenRoutesPlugin, { config, tokens, records, names });
  // 7. Everything else: the default upstream, with identity headers (and upstream.tokens if asked).
  const upstreamTokens = config.upstream.tokens;
  await app.register(forwardPlugin, {
    mount: '',
    target: config.upstream.url,
    timeoutSeconds: config.upstream.timeout,
    caFile: config.upstream.caFile,
    websocket: true,
    ownCookie: names.isOwn,
    routeConfig: { bodyLimit: config.upstream.bodyLimit },
    ...(upstreamTokens.length > 0
      ? {
          preHandler: tokenPreHandler(app, { tokens, records }, upstreamTokens, 'user', (token) => ({
            'x-ms-token-aad-access-token': token,
          })),
        }
      : {}),
    context: (request) =>
      forwardContext(
        request,
        names,
        request.tokenHeaders
          ? { ...request.auth?.record.headers, ...request.tokenHeaders }
          : request.auth?.record.headers,
      ),
  });
  return app;
}

/** Why a request is refused before anything else sees it, or undefined. Sets canonicalPath. */
function refusal(
  request: FastifyRequest,
  routeOf: (method: string, path: string) => string,
): Error | undefined {
  if (request.method === 'TRACE') return new MethodNotAllowedError(request.method);
  if (request.raw.rawHeaders.length > 2 * MAX_HEADERS) return new TooManyHeadersError();
  const result = canonicalPath(request.url);
  if ('error' in result) return new BadRequestError(result.error);
  if (hasDuplicateHost(request.raw.rawHeaders)) return new BadRequestError('duplicate Host header');
  // Node refuses a missing Host only for HTTP/1.1; HTTP/1.0 without one is refused here.
  const host = request.headers.host;
  if (host === undefined) return new BadRequestError('missing Host header');
  if (!HOST_SYNTAX.test(host)) return new BadRequestError('Host is not a host[:port]');
  request.canonicalPath = result.path;
  if (!request.is404 && routeOf(request.method, result.path) !== routedTo(request)) {
    return new BadRequestError('path is routed differently than it reads (a ";" at a route boundary?)');
  }
  return undefined;
}

/** Node keeps the first of two Host headers; a front proxy may have routed on the second. */
function hasDuplicateHost(raw: string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/** Where the router sent a request, in routeTable()'s terms. */
function routedTo(request: FastifyRequest): string {
  const config = request.routeOptions.config;
  return config.public ? OWN : (config.route ?? 'upstream');
}

const hasBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length']) > 0;

/** CONNECT asks authward to open a tunnel: never. */
function refuseConnect(_req: IncomingMessage, socket: Duplex): void {
  socket.end(
    `HTTP/1.1 405 Method Not Allowed\r\nAllow: ${PROXIED_METHODS}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  );
}

/** The route name used in logs and metrics. */
function routeName(request: FastifyRequest): string {
  const config = request.routeOptions.config;
  return config.route ?? (config.public ? 'authward' : 'upstream');
}

/** Every route's delegated scopes and upstream.tokens: consented at sign-in so refresh can mint them. */
function signInScopes(config: Config): string[] {
  const scopes = config.routes.filter((r) => r.token === 'user').flatMap((r) => r.scopes);
  return [...new Set([...scopes, ...config.upstream.tokens])];
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness;
    tokens: TokenService;
    metrics: Metrics | null;
  }
}
