// Downstream API routes: a bearer token per route, acquired silently, injected, never leaked.
//
// Rules enforced for a route: the client's Authorization is replaced; only allow-listed request headers
// pass (headers.ts), no cookies unless the route names them, authward's own never; identity headers only
// when the route asks; the app token goes to anonymous callers only with routes[].public; Host is the
// target's; TLS to the target is verified; redirects are passed to the client, never followed with the
// token; a Set-Cookie of authward's own names is dropped. Consent and claims challenges
// send a browser to sign in for exactly what is missing (an XHR gets 401 JSON it can follow); a dead
// grant signs the user out; a provider outage answers 503 and keeps the session.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { accountOf, identityOf } from '../auth/principal.js';
import { routePrefix } from '../config/paths.js';
import type { RouteConfig } from '../config/schema.js';
import type { RouteTable } from '../routing/table.js';
import type { CookieNames } from '../session/cookie.js';
import type { SessionRecords } from '../session/records.js';
import { InteractionRequired } from '../tokens/errors.js';
import type { OnBehalfOf } from '../tokens/obo.js';
import { scopesKey, type TokenService } from '../tokens/token-service.js';
import { forwardPlugin } from './forward.js';
import { forwardContext } from './forward-context.js';
import { routeHeaderPolicy } from './headers.js';
import { oboStep, passBackClaims } from './obo-routes.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Headers a token pre-handler adds for this request (Authorization, X-MS-TOKEN-AAD-ACCESS-TOKEN). */
    tokenHeaders: Record<string, string> | null;
  }
}

export interface TokenRouteDeps {
  tokens: TokenService;
  /** On-behalf-of for API clients (apiClients.enabled). */
  obo: OnBehalfOf | null;
  records: SessionRecords;
  names: CookieNames;
  table: RouteTable;
}

async function tokenRoutes(app: FastifyInstance, d: TokenRouteDeps) {
  app.decorateRequest('tokenHeaders', null);
  for (const decision of d.table.routes) {
    const route = decision.config;
    const policy = routeHeaderPolicy(route);
    await app.register(forwardPlugin, {
      mount: routePrefix(route.path),
      target: route.target,
      timeoutSeconds: route.timeout,
      caFile: route.caFile,
      websocket: route.websocket,
      methods: route.methods,
      ownCookie: d.names.isOwn,
      preHandler: tokenPreHandler(
        app,
        d,
        route.scopes,
        route.token,
        (t) => ({ authorization: `Bearer ${t}` }),
        route.public,
        route.resource,
      ),
      onResponse: claimsChallengeHandler(app, route),
      routeConfig: { route: route.name, decision, bodyLimit: route.bodyLimit },
      context: (request) => {
        const identity = route.identityHeaders ? identityOf(request.principal) : undefined;
        const tokens = request.tokenHeaders ?? undefined;
        const inject = identity && tokens ? { ...identity, ...tokens } : (tokens ?? identity);
        const ctx = forwardContext(request, d.names, inject, true);
        ctx.policy = policy; // the route's allow-list: the target may be a third party
        return ctx;
      },
    });
  }
}

/** Stage 6: one proxy registration per token route (the router matches longest prefix first). */
export const tokenRoutesStage = fp(tokenRoutes, {
  name: 'authward-token-routes',
  dependencies: ['authward-auth'],
});

/** Acquires the token before forwarding; answers sign-in, consent or 503 itself when it cannot. */
export function tokenPreHandler(
  app: FastifyInstance,
  d: Pick<TokenRouteDeps, 'tokens' | 'records'> & { obo?: OnBehalfOf | null },
  scopes: readonly string[],
  kind: RouteConfig['token'],
  headersFor: (token: string) => Record<string, string>,
  /** token app: also for anonymous callers (on publicRoutes under the route; routes[].public). */
  anonymousAppToken = false,
  /** RFC 8707 resource sent on the token requests (routes[].resource). */
  resource?: string,
) {
  const key = scopesKey(scopes, resource);
  const onBehalf = d.obo && kind === 'user' ? oboStep(d.obo, scopes, key, resource, headersFor) : undefined;
  const acquire = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      if (kind === 'app') {
        // No session past the auth stage: a public path. The application's own token goes to nobody
        // unless the route says so (the config check refuses the overlap otherwise; this is the backstop).
        const p = request.principal;
        if ((!p || p.kind === 'anonymous') && !anonymousAppToken) return;
        request.tokenHeaders = headersFor((await d.tokens.appToken(scopes, key, resource)).accessToken);
        return;
      }
      const account = accountOf(request.principal);
      // No user past the auth stage means the path is in publicRoutes (request.principal is anonymous
      // there, signed in or not): forward without a token. Starting a sign-in here would lock
      // anonymous users out of public paths and loop signed-in ones (sign-in, back, sign-in, ...).
      if (!account) return;
      const started = performance.now();
      const token = await d.tokens.acquire(account, scopes, key, undefined, resource);
      request.tokenHeaders = headersFor(token.accessToken);
      app.metrics?.token(
        request.route.name,
        token.source,
        token.source === 'l1' ? undefined : (performance.now() - started) / 1000,
      );
    } catch (err) {
      if (!(err instanceof InteractionRequired)) throw err;
      app.metrics?.interaction(request.route.name, err.consent ? 'consent' : 'dead_grant');
      if (err.consent) {
        request.log.info({ event: 'consent_required', reason: err.reason }, 'route needs consent');
        return app.signIn.interactionRequired(request, reply, { scopes: [...scopes] });
      }
      // The grant is dead (revoked, expired): this session cannot get tokens any more.
      request.log.info({ event: 'session_ended', reason: err.reason }, 'token grant is dead: signing out');
      const p = request.principal;
      const sid = p?.kind === 'user' ? p.session.sid : undefined;
      if (sid) await d.records.delete(sid).catch(() => undefined);
      request.session.delete();
      return app.signIn.unauthenticated(request, reply);
    }
  };
  // A callback hook: a token fresh in the L1 (the common case) is injected without a promise.
  return (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    if (request.raw.aborted) return done();
    const p = request.principal;
    if (p?.kind === 'api' && kind === 'user') return onBehalf ? onBehalf(request, reply, p, done) : done();
    const acc = kind === 'user' ? accountOf(request.principal) : undefined;
    const hit = acc && d.tokens.peek(acc, key);
    if (hit) {
      request.tokenHeaders = headersFor(hit);
      app.metrics?.token(request.route.name, 'l1');
      return done();
    }
    acquire(request, reply).then(() => done(), done);
  };
}

// WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64 JSON>" (Conditional Access).
const INSUFFICIENT_CLAIMS = /error\s*=\s*"?insufficient_claims"?/i;
const CLAIMS_PARAM = /claims\s*=\s*"([A-Za-z0-9+/=_-]+)"/i;

function claimsChallengeHandler(app: FastifyInstance, route: RouteConfig) {
  return (
    request: FastifyRequest,
    reply: FastifyReply,
    res: {
      statusCode: number;
      headers: Record<string, unknown>;
      stream: NodeJS.ReadableStream & { destroy(): void };
    },
  ) => {
    const challenge = res.statusCode === 401 ? String(res.headers['www-authenticate'] ?? '') : '';
    const encoded = INSUFFICIENT_CLAIMS.test(challenge) ? CLAIMS_PARAM.exec(challenge)?.[1] : undefined;
    if (!encoded || route.token !== 'user') return reply.send(res.stream);
    res.stream.destroy();
    for (const name of Object.keys(res.headers)) reply.removeHeader(name);
    if (request.principal?.kind === 'api') return passBackClaims(request, reply, encoded);
    const claims = Buffer.from(encoded, 'base64').toString('utf8');
    request.log.info({ event: 'claims_challenge', route: route.name }, 'downstream asked for more claims');
    app.metrics?.interaction(route.name, 'claims');
    return app.signIn.interactionRequired(request, reply, { scopes: [...route.scopes], claims });
  };
}
