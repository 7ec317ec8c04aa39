// GET /.auth/me: the signed-in user in App Service's shape, or 401; tokens in it only when the operator opted in.
//
// App Service answers `[{ provider_name, user_id, user_claims, id_token, access_token, expires_on,
// refresh_token }]`. authward leaves the tokens out unless session.exposeTokensToBrowser (any script
// on the site could read them), and never includes the refresh token.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../errors.js';
import { OWN_PAGE_HEADERS, sendError } from '../responses.js';
import type { SessionRecords } from '../session/records.js';
import type { AccountRef } from '../token-cache/store.js';
import { InteractionRequired } from '../tokens/errors.js';
import { scopesKey, type TokenService } from '../tokens/token-service.js';
import { principalName } from './claims.js';
import { liveSession } from './session-live.js';

export interface MeOptions {
  records: SessionRecords;
  tokens: TokenService;
  idleTimeout: number;
  providerName: string;
  /** session.exposeTokensToBrowser */
  exposeTokens: boolean;
  /** upstream.tokens: the access token App Service would show (none when empty). */
  accessScopes: readonly string[];
}

/** Own endpoints skip the auth stage, so this one applies the same rules itself (session-live.ts). */
export function meRoute(o: MeOptions) {
  const key = scopesKey(o.accessScopes);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const live = await liveSession(request, o.records, o.idleTimeout);
    if (!live) return sendError(request, reply, new UnauthenticatedError());
    const c = live.record.record.claims;
    const user_claims = Object.entries(c).flatMap(([typ, val]) =>
      Array.isArray(val) ? val.map((v) => ({ typ, val: v })) : [{ typ, val: String(val) }],
    );
    const tokens = o.exposeTokens ? await exposed(o, live.session.acc, key) : {};
    reply.headers(OWN_PAGE_HEADERS);
    return [{ provider_name: o.providerName, user_id: principalName(c), user_claims, ...tokens }];
  };
}

/** The tokens App Service puts in /.auth/me (id_token; access_token and expires_on of upstream.tokens). */
async function exposed(o: MeOptions, account: AccountRef, key: string): Promise<Record<string, string>> {
  const { idToken } = await o.tokens.accountTokens(account.homeAccountId);
  const out: Record<string, string> = idToken ? { id_token: idToken } : {};
  if (o.accessScopes.length === 0) return out;
  try {
    const t = await o.tokens.acquire(account, o.accessScopes, key);
    out.access_token = t.accessToken;
    out.expires_on = new Date(t.expiresOn).toISOString();
  } catch (err) {
    // No usable grant: the claims are still true, the token is just not there (App Service does the same).
    if (!(err instanceof InteractionRequired)) throw err;
  }
  return out;
}
