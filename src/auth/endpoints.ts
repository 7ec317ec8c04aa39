// authward's own endpoints: /.auth/login, the callback, /.auth/logout, /.auth/me (App Service conventions).
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import type { Config } from '../config/schema.js';
import { ProviderUnavailableError } from '../errors.js';
import { OWN_PAGE_HEADERS, sendError } from '../responses.js';
import type { CookieNames } from '../session/cookie.js';
import type { SessionRecords } from '../session/records.js';
import { InteractionRequired } from '../tokens/errors.js';
import { IdTokenError } from '../tokens/id-token.js';
import type { Provider } from '../tokens/provider.js';
import type { AccountRef, TokenService } from '../tokens/token-service.js';
import { UserInfoError, withUserInfo } from '../tokens/userinfo.js';
import { claimsFromIdToken, principalName, userHash } from './claims.js';
import { configuredScopes, loginParams } from './login-params.js';
import type { LoginTransactions } from './login-tx.js';
import { LogoutReturn } from './logout-return.js';
import { safeReturnTo } from './return-to.js';
import type { SignInFlow } from './sign-in.js';
import type { SignInLoop } from './sign-in-loop.js';

export interface EndpointDeps {
  config: Config;
  provider: Provider;
  tokens: TokenService;
  records: SessionRecords;
  transactions: LoginTransactions;
  names: CookieNames;
  flow: SignInFlow;
  loop: SignInLoop;
  verifyIdToken: () => ((idToken: string, nonce: string) => Promise<JWTPayload>) | undefined;
  idp: string;
}

const own = { config: { public: true } };
const now = () => Math.floor(Date.now() / 1000);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export async function authEndpoints(app: FastifyInstance, d: EndpointDeps) {
  const prefix = d.config.identity.pathPrefix.replace(/\/+$/, '');
  const origin = new URL(d.config.publicUrl).origin;
  const redirectUri = new URL(d.config.identity.callbackPath, origin).href;
  // The logout confirmation form posts an empty form body.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_r, _b, done) => done(null, {}),
  );

  const knownScopes = configuredScopes(d.config);
  app.get(`${prefix}/login`, own, async (request, reply) => {
    const { returnTo, ...extra } = loginParams(request.query as Record<string, unknown>, knownScopes);
    return d.flow.start(request, reply, returnTo, extra);
  });

  app.get(d.config.identity.callbackPath, own, async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const state = str(q.state);
    const fail = (status: number, reason: string, message: string) => {
      request.log.warn({ event: 'sign_in_failed', reason }, `sign-in failed: ${reason}`);
      app.metrics?.signIn('failed', reason.split(/[ :]/, 1)[0]);
      return sendError(request, reply, status, 'sign_in_failed', message);
    };
    if (!state || Array.isArray(q.state)) return fail(400, 'missing state', 'sign-in failed: missing state');
    const tx = d.transactions.finish(request, reply, state);
    if (!tx) {
      return fail(
        400,
        'unknown or expired state',
        'sign-in expired or was started in another browser; start again',
      );
    }
    const error = str(q.error);
    if (error) {
      const code = /^[a-z_]{1,64}$/.test(error) ? error : 'error';
      return fail(
        code === 'access_denied' ? 403 : 400,
        `provider error ${code}`,
        `the provider refused sign-in (${code})`,
      );
    }
    const code = str(q.code);
    if (!code || Array.isArray(q.code)) return fail(400, 'missing code', 'sign-in failed: missing code');
    const verify = d.verifyIdToken();
    if (!verify) {
      d.transactions.restore(request, reply, tx); // a reload retries once the provider is back
      throw new ProviderUnavailableError();
    }

    let payload: JWTPayload | undefined;
    let result: Awaited<ReturnType<TokenService['redeem']>>;
    try {
      result = await d.tokens.redeem(
        {
          code,
          codeVerifier: tx.verifier,
          redirectUri,
          // A consent or claims login for a route redeems straight into that route's token.
          scopes: tx.scopes.length > 0 ? tx.scopes : d.config.identity.scopes,
          state,
          nonce: tx.nonce,
          claims: tx.claims,
        },
        async (r) => {
          // Claims only at UserInfo (OpenID Core 5.4): fetched before anything is cached, like the check.
          payload = await withUserInfo(
            d.provider,
            await verify(r.idToken, tx.nonce),
            r.accessToken,
            request.log,
          );
        },
      );
    } catch (err) {
      if (err instanceof IdTokenError) {
        return fail(
          err.reason.startsWith('tenant') ? 403 : 400,
          err.reason,
          'sign-in failed: the ID token was rejected',
        );
      }
      if (err instanceof UserInfoError) {
        return fail(400, err.reason, 'sign-in failed: the provider gave inconsistent user information');
      }
      if (err instanceof InteractionRequired) {
        return fail(
          400,
          `code redemption: ${err.reason}`,
          'sign-in failed: the authorization code is invalid or used',
        );
      }
      // An outage (503): the code is most likely unredeemed, so a reload may still complete the sign-in.
      if ((err as { statusCode?: number }).statusCode === 503) d.transactions.restore(request, reply, tx);
      throw err;
    }
    const claims = claimsFromIdToken(payload as Record<string, unknown>, d.config.identity.protocol);
    // Never reuse a pre-login session. The same account signing in again (consent, claims challenge,
    // a second login) keeps the token cache partition redeem() has just written.
    await endSession(request, false, result.account.homeAccountId).catch(() => undefined);
    const sid = randomBytes(24).toString('base64url');
    const lifetime = d.config.session.lifetime;
    const hint = result.idToken.length <= 2048 ? { h: result.idToken } : {};
    await d.records.create(sid, { a: result.account.homeAccountId, c: claims, ...hint }, lifetime);
    const a = result.account;
    const acc: AccountRef = {
      homeAccountId: a.homeAccountId,
      environment: a.environment,
      tenantId: a.tenantId,
      username: a.username,
      localAccountId: a.localAccountId,
    };
    const t = now();
    request.session.set('d', { sid, acc, iat: t, seen: t, exp: t + Math.floor(lifetime) });
    d.loop.signedIn(request, reply);
    request.log.info({ event: 'sign_in', user: userHash(claims) }, 'signed in');
    app.metrics?.signIn('ok');
    // Checked when the login started and sealed since; checked again so no other writer of the
    // transaction (an older version, a future field) can ever make this Location leave the origin.
    const target = safeReturnTo(tx.returnTo, origin);
    return reply.code(302).headers(OWN_PAGE_HEADERS).header('location', target).send();
  });

  // The provider always comes back to one URL; the target waits in a cookie (logout-return.ts).
  const logoutReturn = new LogoutReturn(app, d.names, origin);
  const logoutComplete = new URL(`${prefix}/logout/complete`, origin).href;
  const logout = async (request: FastifyRequest, reply: FastifyReply) => {
    const q = request.query as Record<string, unknown>;
    const target = safeReturnTo(str(q.post_logout_redirect_uri) ?? '/', origin);
    const site = request.headers['sec-fetch-site'];
    const sameOrigin =
      site === 'same-origin' ||
      (site === undefined && (request.headers.origin === origin || refererIsOwn(request, origin)));
    if (request.method === 'GET' && !(sameOrigin || site === 'none'))
      return confirmLogout(reply, request.url);
    if (
      request.method === 'POST' &&
      !sameOrigin &&
      !(site === undefined && request.headers.origin === undefined && !request.headers.referer)
    ) {
      return sendError(request, reply, 403, 'forbidden', 'cross-site sign-out refused');
    }
    const hint = await endSession(request);
    const end = d.provider.discovery?.end_session_endpoint;
    let location = target;
    if (end) {
      const u = new URL(end);
      u.searchParams.set('post_logout_redirect_uri', logoutComplete);
      u.searchParams.set('state', logoutReturn.begin(reply, target));
      u.searchParams.set('client_id', d.config.identity.clientId);
      if (hint) u.searchParams.set('id_token_hint', hint);
      location = u.href;
    }
    request.log.info({ event: 'sign_out' }, 'signed out');
    return reply.code(302).headers(OWN_PAGE_HEADERS).header('location', location).send();
  };
  app.get(`${prefix}/logout`, own, logout);
  app.post(`${prefix}/logout`, own, logout);
  app.get(`${prefix}/logout/complete`, own, async (request, reply) => logoutReturn.complete(request, reply));

  app.get(`${prefix}/me`, own, async (request, reply) => {
    const s = request.session.get('d');
    const t = Date.now() / 1000;
    // The same rules as the session check: absolute lifetime and idle timeout.
    const live = s && s.exp > t && t - s.seen <= d.config.session.idleTimeout;
    const rec = live ? await d.records.get(s.sid) : null;
    if (!s || !rec) return sendError(request, reply, 401, 'unauthenticated', 'sign-in required');
    const c = rec.record.c;
    const user_claims = Object.entries(c).flatMap(([typ, val]) =>
      Array.isArray(val) ? val.map((v) => ({ typ, val: v })) : [{ typ, val: String(val) }],
    );
    reply.headers(OWN_PAGE_HEADERS);
    return [{ provider_name: d.idp, user_id: principalName(c), user_claims }];
  });

  // Anything else under the prefix is ours, never the upstream's.
  app.all(`${prefix}/*`, own, async (request, reply) =>
    sendError(request, reply, 404, 'not_found', 'not found'),
  );

  /**
   * Signs the browser's session out everywhere: record, token cache (unless it is `keepAccount`'s),
   * cookie. Returns the ID token hint.
   */
  async function endSession(
    request: FastifyRequest,
    clearCookie = true,
    keepAccount?: string,
  ): Promise<string | undefined> {
    const s = request.session.get('d');
    if (clearCookie) request.session.delete(); // (the callback overwrites it instead: delete() cannot be undone)
    if (!s) return undefined;
    let hint: string | undefined;
    try {
      hint = (await d.records.get(s.sid))?.record.h;
    } catch {
      /* store down: revoke what we can below */
    }
    const account = s.acc.homeAccountId;
    await Promise.allSettled([
      d.records.delete(s.sid),
      account === keepAccount ? undefined : d.tokens.removeAccount(account),
    ]).then((r) => {
      const failed = r.find((x) => x.status === 'rejected');
      if (failed) {
        request.log.warn(
          { event: 'sign_out_incomplete' },
          'token store unavailable during sign-out: the session is refused here and deleted when the store is back',
        );
      }
    });
    return hint;
  }
}

function refererIsOwn(request: FastifyRequest, origin: string): boolean {
  const ref = request.headers.referer;
  return typeof ref === 'string' && (ref === origin || ref.startsWith(`${origin}/`));
}

function confirmLogout(reply: FastifyReply, url: string) {
  const action = url.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return reply
    .code(200)
    .headers(OWN_PAGE_HEADERS)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>Sign out</title></head><body><form method="post" action="${action}"><p>Sign out?</p><button type="submit">Sign out</button></form></body></html>\n`,
    );
}
