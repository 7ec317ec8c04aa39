// The parts the pipeline's stages share, built once per app: store, sealer, provider, tokens, session
// records, readiness, metrics, OIDC discovery, the route table and cookie names.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { BearerVerifier } from './auth/bearer.js';
import { identityHeaders } from './auth/claims.js';
import { introspectorFor } from './auth/introspection.js';
import { logoutSupportWarnings } from './auth/provider-logout.js';
import type { Config } from './config/schema.js';
import { configWarnings } from './config/warnings.js';
import { Readiness } from './health/readiness.js';
import { Metrics } from './metrics/metrics.js';
import { serveMetrics } from './metrics/server.js';
import { type RouteTable, routeTable } from './routing/table.js';
import { type CookieNames, cookieNames } from './session/cookie.js';
import { SessionRecords } from './session/records.js';
import { sealerFromConfig } from './token-cache/crypto.js';
import { createStore } from './token-cache/factory.js';
import type { Store } from './token-cache/store.js';
import { discoverWithRetry } from './tokens/discovery.js';
import { idTokenVerifier } from './tokens/id-token.js';
import { outboundProxy } from './tokens/network.js';
import { OnBehalfOf } from './tokens/obo.js';
import { Provider } from './tokens/provider.js';
import { TokenService } from './tokens/token-service.js';

export interface AppDeps {
  logger?: Logger;
  readiness?: Readiness;
  /** A shared store (tests run several replicas on one); otherwise one is made from tokenCache. */
  store?: Store;
  /** Serve metrics.port here (default); a cluster worker leaves it to the primary (src/workers.ts). */
  metricsServer?: boolean;
  /** Epoch ms now, read by the API clients' token checks (tests move time with it). Default Date.now. */
  clock?: () => number;
}

export interface Parts {
  config: Config;
  logger: Logger;
  readiness: Readiness;
  store: Store;
  provider: Provider;
  tokens: TokenService;
  records: SessionRecords;
  metrics: Metrics | null;
  table: RouteTable;
  names: CookieNames;
  /** The identity provider's name in X-MS-CLIENT-PRINCIPAL-IDP. */
  idp: string;
  /** The ID token check, once discovery has answered (undefined until then). */
  verifyIdToken: () => ReturnType<typeof idTokenVerifier> | undefined;
  /** API clients' bearer token check (apiClients.enabled), once discovery has answered. */
  bearerVerifier: () => BearerVerifier | undefined;
  /** On-behalf-of tokens for API clients on token routes (apiClients.enabled). */
  obo: OnBehalfOf | null;
}

export function buildParts(app: FastifyInstance, config: Config, logger: Logger, deps: AppDeps): Parts {
  const readiness = deps.readiness ?? new Readiness();
  const store = deps.store ?? createStore(config.tokenCache, logger);
  store.onStatus((status, detail) => readiness.setDependency('tokenStore', status, detail));
  for (const warning of configWarnings(config)) logger.warn({ event: 'config' }, warning);
  const sealer = sealerFromConfig(config.tokenCache);
  // HTTP(S)_PROXY/NO_PROXY are read here, where the app is built: tokens/ looks up no environment.
  const provider = new Provider(config.identity, logger, outboundProxy(process.env));
  // The provider refusing this application (invalid_client) is a configuration error: not ready until fixed.
  provider.onMisconfigured(() => readiness.require('identity provider accepts this application'));
  provider.setRouteResources(config.routes);
  const tokens = new TokenService(provider, store, sealer, config.tokenCache, logger);
  const idp = config.identity.protocol === 'aad' ? 'aad' : new URL(provider.authority).host;
  const records = new SessionRecords(store, sealer, config.session.revocationCheckInterval, (r) =>
    identityHeaders(r.claims, config.upstream.identityHeaders, idp),
  );
  store.onStatus((status) => {
    if (status === 'up') records.retryDeletes();
  });
  let verifyIdToken: ReturnType<typeof idTokenVerifier> | undefined;
  let bearerVerifier: BearerVerifier | undefined;
  const obo = config.apiClients.enabled
    ? new OnBehalfOf(provider, store, sealer, config.tokenCache, logger)
    : null;
  const stopDiscovery = discoverWithRetry(provider, readiness, logger, (doc) => {
    verifyIdToken = idTokenVerifier(config.identity, doc, provider.http, logger);
    for (const warning of logoutSupportWarnings(config.identity, doc))
      logger.warn({ event: 'config' }, warning);
    if (config.apiClients.enabled)
      bearerVerifier = new BearerVerifier(
        config,
        doc,
        provider.http,
        idp,
        logger,
        introspectorFor(config, doc, provider, logger),
        deps.clock,
      );
    const oboProblem = obo?.providerProblem(config.routes, config.upstream.tokens);
    if (oboProblem) logger.error({ event: 'config' }, oboProblem);
  });
  const metrics = config.metrics.enabled ? new Metrics({ tokens, store, readiness }) : null;
  if (metrics && deps.metricsServer !== false) serveMetrics(app, metrics, config.metrics);
  app.decorate('readiness', readiness);
  app.decorate('tokens', tokens);
  app.decorate('metrics', metrics);
  app.addHook('onClose', async () => {
    stopDiscovery();
    await provider.close();
    if (!deps.store) await store.close();
  });
  return {
    config,
    logger,
    readiness,
    store,
    provider,
    tokens,
    records,
    metrics,
    table: routeTable(config),
    names: cookieNames(config),
    idp,
    verifyIdToken: () => verifyIdToken,
    bearerVerifier: () => bearerVerifier,
    obo,
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness;
    tokens: TokenService;
    metrics: Metrics | null;
  }
}
