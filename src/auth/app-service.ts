// The rest of App Service's ("Easy Auth") browser contract: /.auth/login/<provider> and /.auth/refresh.
//
// Rules: `/.auth/login/aad` and `/.auth/login/<this provider's name>` are `/.auth/login` (same
// parameters, post_login_redirect_uri checked same-origin); any other provider name is 404 (authward
// signs in with one provider). `/.auth/refresh` refreshes the signed-in user's tokens now: 200, or 401
// when there is no live session or its grant is gone (the session then ends, as on a dead grant
// anywhere); a provider outage is 503 and keeps the session. Own endpoints skip the session check,
// so the same liveness rule is applied here (session-live.ts).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NotFoundError, UnauthenticatedError } from '../errors.js';
import { OWN_PAGE_HEADERS, sendError } from '../responses.js';
import type { SessionRecords } from '../session/records.js';
import { InteractionRequired } from '../tokens/errors.js';
import { scopesKey, type TokenService } from '../tokens/token-service.js';
import type { EndSession } from './end-session.js';
import { liveSession } from './session-live.js';

/** Accepts `aad` and this provider's name (X-MS-CLIENT-PRINCIPAL-IDP), as App Service names them. */
export function providerLoginRoute(
  names: readonly string[],
  login: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
) {
  const known = new Set(names.map((n) => n.toLowerCase()));
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const { provider } = request.params as { provider: string };
    if (!known.has(provider.toLowerCase())) return sendError(request, reply, new NotFoundError());
    return login(request, reply);
  };
}

export interface RefreshOptions {
  records: SessionRecords;
  tokens: TokenService;
  endSession: EndSession;
  idleTimeout: number;
  /** The scopes refreshed: upstream.tokens, else identity.scopes (an ID token and the sign-in's token). */
  scopes: readonly string[];
}

export function refreshRoute(o: RefreshOptions) {
  const key = scopesKey(o.scopes);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const live = await liveSession(request, o.records, o.idleTimeout);
    if (!live) return sendError(request, reply, new UnauthenticatedError());
    try {
      await o.tokens.renew(live.session.acc, o.scopes, key);
    } catch (err) {
      if (!(err instanceof InteractionRequired)) throw err;
      // A dead grant ends the session; a scope never consented leaves it (a sign-in can add it).
      if (!err.consent) {
        request.log.info({ event: 'session_ended', reason: err.reason }, 'refresh refused: signing out');
        await o.endSession(request).catch(() => undefined);
      }
      return sendError(request, reply, new UnauthenticatedError());
    }
    request.log.info({ event: 'tokens_refreshed' }, 'tokens refreshed (/.auth/refresh)');
    return reply.code(200).headers(OWN_PAGE_HEADERS).send();
  };
}
