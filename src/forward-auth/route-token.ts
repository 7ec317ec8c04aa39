// The bearer token a forwardAuth route's ingress sends on: acquired as the token routes do (TokenService:
// L1, then the store, then the provider), answered as `Authorization` on the verify response.
//
// A grant that needs consent or is dead cannot be fixed by the ingress: 401 (with the sign-in URL for a
// navigation, as for no session); a dead grant also ends the session, as in proxy mode.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { UserPrincipal } from '../auth/principal.js';
import type { RouteConfig } from '../config/schema.js';
import { UnauthenticatedError } from '../errors.js';
import type { Parts } from '../parts.js';
import { sendError, wantsHtml } from '../responses.js';
import { InteractionRequired } from '../tokens/errors.js';
import { scopesKey } from '../tokens/token-service.js';
import type { Original } from './original.js';

export function routeTokens(p: Pick<Parts, 'tokens' | 'records'>) {
  const keys = new WeakMap<RouteConfig, string>();
  const keyOf = (r: RouteConfig) => {
    const known = keys.get(r);
    if (known !== undefined) return known;
    const key = scopesKey(r.scopes, r.resource);
    keys.set(r, key);
    return key;
  };

  return async (
    route: RouteConfig,
    user: UserPrincipal,
    request: FastifyRequest,
    reply: FastifyReply,
    o: Original,
    signInUrl: (o: Original) => string,
  ): Promise<void> => {
    const key = keyOf(route);
    try {
      const token =
        route.token === 'app'
          ? (await p.tokens.appToken(route.scopes, key, route.resource)).accessToken
          : (p.tokens.peek(user.account, key) ??
            (await p.tokens.acquire(user.account, route.scopes, key, undefined, route.resource)).accessToken);
      reply.code(200).header('authorization', `Bearer ${token}`).send();
    } catch (err) {
      if (!(err instanceof InteractionRequired)) throw err;
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
