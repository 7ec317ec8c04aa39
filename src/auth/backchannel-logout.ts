// POST <pathPrefix>/backchannel-logout: OpenID Connect Back-Channel Logout 1.0, the provider's server calling ours.
//
// Rules: the body is a form with one `logout_token`, verified in full (tokens/logout-token.ts); its `jti`
// is remembered in the token store until the token could no longer verify (SET NX with a TTL: a replay
// is refused on every replica that shares the store); only then are the sessions it names ended
// (provider-logout.ts). Answers 200 with Cache-Control: no-store, 400 JSON for a token refused (the
// reason only in the log), 503 when the provider's keys or the store are out of reach (the `jti` is
// then forgotten again, so the provider's retry is not taken for a replay). No cookie is read: the
// signed token is the only credential, so cross-site request forgery has nothing to ride on.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { BadRequestError, ProviderUnavailableError } from '../errors.js';
import { sendError } from '../responses.js';
import type { SessionIndex } from '../session/logout-index.js';
import { LogoutTokenError, type LogoutTokenVerifier, logoutTokenVerifier } from '../tokens/logout-token.js';
import type { Provider } from '../tokens/provider.js';
import type { EndProviderSessions } from './provider-logout.js';

export interface BackchannelDeps {
  identity: Config['identity'];
  provider: Provider;
  index: SessionIndex;
  end: EndProviderSessions;
}

export function backchannelLogoutRoute(d: BackchannelDeps) {
  let verifier: LogoutTokenVerifier | undefined;
  const verify = (token: string) => {
    const doc = d.provider.discovery;
    if (!doc) throw new ProviderUnavailableError();
    verifier ??= logoutTokenVerifier(d.identity, doc, d.provider.http);
    return verifier(token);
  };
  const refuse = (request: FastifyRequest, reply: FastifyReply, reason: string) => {
    request.log.info({ event: 'backchannel_logout_refused', reason }, `logout token refused: ${reason}`);
    return sendError(request, reply, new BadRequestError('the logout token is not accepted'));
  };

  return async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body as Record<string, unknown> | undefined;
    const token = body?.logout_token;
    if (typeof token !== 'string' || token.length === 0) return refuse(request, reply, 'no logout_token');
    let claims: Awaited<ReturnType<LogoutTokenVerifier>>;
    try {
      claims = await verify(token);
    } catch (err) {
      if (err instanceof LogoutTokenError) return refuse(request, reply, err.reason);
      throw err;
    }
    const ttlMs = Math.max(1000, (claims.acceptableUntil + 1) * 1000 - Date.now());
    const first = await d.index.firstUse(claims.iss, claims.jti, ttlMs);
    if (!first) return refuse(request, reply, 'replayed (jti seen before)');
    let ended: string[];
    try {
      ended = await d.end(claims);
    } catch (err) {
      await first.undo();
      throw err;
    }
    request.log.info(
      { event: 'provider_logout', channel: 'back', by: claims.sid ? 'sid' : 'sub', sessions: ended.length },
      'signed out by the provider (back-channel)',
    );
    return reply.code(200).header('cache-control', 'no-store').send();
  };
}
