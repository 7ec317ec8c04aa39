// The bearer token a forwardAuth route's ingress sends on: acquired as the token routes do (TokenService:
// L1, then the store, then the provider; an API client's through proxy mode's own on-behalf-of step),
// answered as `Authorization` on the verify response, which the ingress sends in place of the caller's.
//
// A grant that needs consent or is dead cannot be fixed by the ingress: 401 (with the sign-in URL for a
// navigation, as for no session); a dead grant also ends the session, as in proxy mode. An API client
// gets what proxy mode answers it: 403 insufficient_scope when app-only, 401 insufficient_claims.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ApiPrincipal, UserPrincipal } from '../auth/principal.js';
import type { RouteConfig } from '../config/schema.js';
import { UnauthenticatedError } from '../errors.js';
import type { Parts } from '../parts.js';
import { oboStep } from '../proxy/obo-routes.js';
import { sendError, wantsHtml } from '../responses.js';
import { InteractionRequired } from '../tokens/errors.js';
import { scopesKey } from '../tokens/token-service.js';
import type { Original } from './original.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function routeTokens(p: Pick<Parts, 'tokens' | 'records' | 'obo'>) {
  const keys = new WeakMap<RouteConfig, string>();
  const keyOf = (r: RouteConfig) => {
    const known = keys.get(r);
    if (known !== undefined) return known;
    const key = scopesKey(r.scopes, r.resource);
    keys.set(r, key);
    return key;
  };

  const steps = new WeakMap<RouteConfig, ReturnType<typeof oboStep>>();
  const stepOf = (route: RouteConfig) => {
    let step = steps.get(route);
    if (!step) {
      // p.obo exists whenever an API principal can (apiClients.enabled builds both).
      step = oboStep(p.obo as NonNullable<Parts['obo']>, route.scopes, keyOf(route), route.resource, bearer);
      steps.set(route, step);
    }
    return step;
  };
  /** An API client on a `token: user` route: the token on behalf of its user, or proxy mode's refusal. */
  const onBehalf = (route: RouteConfig, caller: ApiPrincipal, request: FastifyRequest, reply: FastifyReply) =>
    new Promise<void>((resolve, reject) =>
      stepOf(route)(request, reply, caller, (err) => {
        if (err) return reject(err);
        if (!reply.sent)
          reply
            .code(200)
            .headers(request.tokenHeaders ?? {})
            .send();
        resolve();
      }),
    );

  return async (
    route: RouteConfig,
    user: UserPrincipal | ApiPrincipal,
    request: FastifyRequest,
    reply: FastifyReply,
    o: Original,
    signInUrl: (o: Original) => string,
  ): Promise<void> => {
    const key = keyOf(route);
    if (user.kind === 'api' && route.token === 'user') return onBehalf(route, user, request, reply);
    try {
      const token =
        route.token === 'app' || user.kind === 'api'
          ? (await p.tokens.appToken(route.scopes, key, route.resource)).accessToken
          : (p.tokens.peek(user.account, key) ??
            (await p.tokens.acquire(user.account, route.scopes, key, undefined, route.resource)).accessToken);
      reply.code(200).header('authorization', `Bearer ${token}`).send();
    } catch (err) {
      if (!(err instanceof InteractionRequired) || user.kind !== 'user') throw err;
      request.log.info(
        { event: err.consent ? 'consent_required' : 'session_ended', reason: err.reason, route: route.name },
        'forward-auth route token needs a sign-in',
      );
      if (!err.consent) {
        await p.records.delete(user.session.sid).catch(() => undefined);
        request.session.delete();
      }
      const url = signInUrl(o);
      const scopes = err.consent ? `&${new URLSearchParams({ scopes: route.scopes.join(' ') })}` : '';
      if ((o.method === 'GET' || o.method === 'HEAD') && wantsHtml(request)) {
        if (o.form === 'redirect')
          return void reply
            .code(302)
            .header('location', url + scopes)
            .send();
        reply.header('location', url + scopes);
      }
      sendError(request, reply, new UnauthenticatedError(), { loginUrl: url + scopes });
    }
  };
}
