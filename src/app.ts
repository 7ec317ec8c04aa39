// buildApp(config): the parts, then the request pipeline, one stage a line, in the order a request meets them.
//
// Each stage is a named fastify-plugin that declares the stages it reads from (fastify refuses to boot if
// one is missing or registered later). What stages hand on is one typed value each: request.route (the
// route table's decision, routing/table.ts) and request.principal (who is calling, auth/principal.ts).
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import fp from 'fastify-plugin';
import { authPlugin } from './auth/plugin.js';
import type { Config } from './config/schema.js';
import { forwardAuthStage } from './forward-auth/verify.js';
import { closingStage } from './health/closing.js';
import { healthPlugin } from './health/plugin.js';
import { createLogger, lazyRequestLoggers } from './logger.js';
import { accessLogStage } from './metrics/access-log.js';
import { pagesFor } from './pages/render.js';
import { type AppDeps, buildParts, type Parts } from './parts.js';
import { bodyLimits } from './proxy/body-limit.js';
import { ForwardedOrigin } from './proxy/forward-context.js';
import { tokenRoutesStage } from './proxy/token-routes.js';
import { upstreamStage } from './proxy/upstream.js';
import { guardStage } from './routing/guard.js';
import { sessionCookiePlugin } from './session/cookie.js';

export type { AppDeps } from './parts.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const logger = deps.logger ?? createLogger(config.logging.level, config.logging.pretty, config.logging);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One access line per request, written by the access-log stage (with the route and user hash).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'requestId' }),
    trustProxy: config.trustProxy as boolean | string[],
    genReqId: (req) => {
      const id = req.headers['x-request-id'];
      return typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID();
    },
    return503OnClosing: false, // the closing stage answers instead (with Retry-After, in our shape)
    forceCloseConnections: false,
    routerOptions: { maxParamLength: 2048 },
  });
  lazyRequestLoggers(app.log as never);
  app.decorate('forwardedOrigin', new ForwardedOrigin(config.publicUrl, config.trustProxy));
  app.decorate('pages', pagesFor(config));
  const parts = buildParts(app, config, logger, deps);
  const { table } = parts;

  // 1. One canonical path, one Host, a bounded header block, a method worth proxying and one route
  //    decision (request.route), or refused: nothing downstream ever sees an ambiguous request.
  await app.register(guardStage, { table });
  // 1b. A server being closed answers 503 (Retry-After) to what still arrives on busy connections.
  await app.register(closingStage);
  // 2. Access log and request metrics: one line and one observation per request.
  await app.register(accessLogStage, { logger, metrics: parts.metrics });
  // 3. Body limits (upstream.bodyLimit, routes[].bodyLimit): counted before anything reads the body.
  await app.register(bodyLimitStage);
  // 4. Health probes: before auth, never proxied.
  await app.register(healthStage, { ...config.health, readiness: parts.readiness });
  // 5. The encrypted session cookie (decoded lazily per request).
  await app.register(sessionStage, parts);
  // 6. Sign-in endpoints, then who is calling (request.principal) and authorization for the rest.
  await app.register(authPlugin, {
    ...parts,
    extraScopes: config.identity.routeScopes === 'signIn' ? signInScopes(config) : [],
  });
  // 6b. Forward auth (forwardAuth.enabled): an ingress asks about its request with the same rules.
  if (config.forwardAuth.enabled) await app.register(forwardAuthStage, parts);
  // 7. Downstream API routes: a bearer token injected per route (longest prefix wins in the router).
  await app.register(tokenRoutesStage, parts);
  // 8. Everything else: the default upstream, with identity headers (and upstream.tokens if asked).
  await app.register(upstreamStage, parts);
  return app;
}

// Stages whose modules are plain functions: named here, with what they need before them.
const bodyLimitStage = fp(async (app: FastifyInstance) => bodyLimits(app), {
  name: 'authward-body-limit',
  dependencies: ['authward-guard'],
});
const healthStage = fp(healthPlugin, { name: 'authward-health', dependencies: ['authward-guard'] });
const sessionStage = fp(
  async (app: FastifyInstance, p: Parts) => sessionCookiePlugin(app, p.config, p.names),
  { name: 'authward-session', dependencies: ['authward-guard'] },
);

/** Every route's delegated scopes and upstream.tokens: consented at sign-in so refresh can mint them. */
function signInScopes(config: Config): string[] {
  const scopes = config.routes.filter((r) => r.token === 'user').flatMap((r) => r.scopes);
  return [...new Set([...scopes, ...config.upstream.tokens])];
}
