// App Service's token headers besides the access token: X-MS-TOKEN-AAD-ID-TOKEN, -EXPIRES-ON, -REFRESH-TOKEN.
//
// Rules: each only when upstream.tokenHeaders says so, only for a signed-in user (never on a public
// path's anonymous request), only to the default upstream (never a route target); the ID and refresh
// tokens are the account's, as its token cache partition holds them now (refreshes included); the
// expiry is that of the upstream.tokens access token sent beside it. The names are in the strip list
// (proxy/headers.ts INJECTED_HEADERS), so a client's copy never reaches the upstream.
// API clients (bearer tokens): upstream.tokens is acquired on behalf of the caller's user (tokens/obo.ts,
// as on a `token: user` route) and the expiry is that token's; an app-only caller has no user to act for
// and passes without either (the default upstream is the app itself: refusing it would lock services
// out). No ID or refresh token: an API client has none here (its own token is in Authorization).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { accountOf } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import type { OnBehalfOf } from '../tokens/obo.js';
import { scopesKey, type TokenService } from '../tokens/token-service.js';
import type { InjectedHeader } from './headers.js';

export const ID_TOKEN_HEADER: InjectedHeader = 'x-ms-token-aad-id-token';
export const EXPIRES_ON_HEADER: InjectedHeader = 'x-ms-token-aad-expires-on';
export const REFRESH_TOKEN_HEADER: InjectedHeader = 'x-ms-token-aad-refresh-token';

type PreHandler = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

/** The pre-handler adding the configured headers, or undefined when none is configured. */
export function appServiceTokenHeaders(
  tokens: TokenService,
  upstream: Config['upstream'],
  obo: OnBehalfOf | null = null,
) {
  const want = upstream.tokenHeaders;
  const expiresOn = want.expiresOn && upstream.tokens.length > 0;
  if (!want.idToken && !want.refreshToken && !expiresOn) return undefined;
  const key = scopesKey(upstream.tokens);
  const add = async (request: FastifyRequest): Promise<void> => {
    const account = accountOf(request.principal);
    if (!account) return;
    const h: Record<string, string> = {};
    if (want.idToken || want.refreshToken) {
      const secrets = await tokens.accountTokens(account.homeAccountId);
      if (want.idToken && secrets.idToken) h[ID_TOKEN_HEADER] = secrets.idToken;
      if (want.refreshToken && secrets.refreshToken) h[REFRESH_TOKEN_HEADER] = secrets.refreshToken;
    }
    // The access token's pre-handler ran first: this is an L1 hit with its expiry.
    if (expiresOn)
      h[EXPIRES_ON_HEADER] = new Date(
        (await tokens.acquire(account, upstream.tokens, key)).expiresOn,
      ).toISOString();
    request.tokenHeaders = { ...request.tokenHeaders, ...h };
  };
  const handler: PreHandler = (request, _reply, done) => {
    const p = request.principal;
    if (p?.kind === 'api') {
      // The on-behalf-of pre-handler ran first: its token is fresh in the L1, with its expiry.
      const on = expiresOn ? obo?.expiresOn(p.tokenHash, key) : undefined;
      if (on)
        request.tokenHeaders = { ...request.tokenHeaders, [EXPIRES_ON_HEADER]: new Date(on).toISOString() };
      return done();
    }
    add(request).then(() => done(), done);
  };
  return handler;
}

/** upstream.tokens' pre-handler, passed by for an app-only API client (no user to act for). */
export function forUsersOnly(handler: PreHandler | undefined): PreHandler | undefined {
  if (!handler) return undefined;
  return (request, reply, done) => {
    const p = request.principal;
    if (p?.kind === 'api' && p.appOnly) return done();
    handler(request, reply, done);
  };
}

/** Runs `first`, then `second` unless `first` failed or answered the request itself (a sign-in). */
export function chain(first: PreHandler | undefined, second: PreHandler | undefined): PreHandler | undefined {
  if (!first || !second) return first ?? second;
  return (request, reply, done) =>
    first(request, reply, (err) => (err || reply.sent ? done(err) : second(request, reply, done)));
}
