// The sign-in callback: from the provider's redirect to a fresh session and the return target.
//
// Steps, in order, one function each: the transaction named by `state` (bound to this browser); a
// provider error; the code; the ID-token verifier (a provider outage keeps the transaction for a
// reload); redemption with ID-token verification and UserInfo claims, before anything is cached;
// replacing any earlier session (never reused, but the same account keeps its token cache); the new
// record and cookie; the loop counter; log and metrics; the redirect (checked same-origin again).
// A step that refuses throws a SignInFailure: logged with its reason, answered with its catalogue error.
import { randomBytes } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import { derive } from '../config/derived.js';
import type { Config } from '../config/schema.js';
import { ProviderUnavailableError, SignInFailedError, SignInRefusedError } from '../errors.js';
import { OWN_PAGE_HEADERS, sendError } from '../responses.js';
import type { SessionRecords } from '../session/records.js';
import type { AccountRef } from '../token-cache/store.js';
import { InteractionRequired } from '../tokens/errors.js';
import { IdTokenError } from '../tokens/id-token.js';
import type { Provider } from '../tokens/provider.js';
import type { TokenService } from '../tokens/token-service.js';
import { UserInfoError, withUserInfo } from '../tokens/userinfo.js';
import { type Claims, claimsFromIdToken, userHash } from './claims.js';
import type { EndSession } from './end-session.js';
import type { LoginTransactions, LoginTx } from './login-tx.js';
import { safeReturnTo } from './return-to.js';
import type { SignInLoop } from './sign-in-loop.js';

type VerifyIdToken = (idToken: string, nonce: string) => Promise<JWTPayload>;
type Redeemed = Awaited<ReturnType<TokenService['redeem']>>;

export interface CallbackDeps {
  config: Config;
  provider: Provider;
  tokens: TokenService;
  records: SessionRecords;
  transactions: LoginTransactions;
  loop: SignInLoop;
  endSession: EndSession;
  /** Late-bound: undefined until the provider's keys are known. */
  verifyIdToken: () => VerifyIdToken | undefined;
}

/** A refused sign-in: `reason` for the log and the metric, `answer` for the browser. */
class SignInFailure extends Error {
  constructor(
    readonly reason: string,
    readonly answer: FastifyError,
  ) {
    super(reason);
  }
}

const failed = (reason: string, message: string) => new SignInFailure(reason, new SignInFailedError(message));
const refused = (reason: string, message: string) =>
  new SignInFailure(reason, new SignInRefusedError(message));
/** A query parameter given once (repeated, it parses as an array: treated as absent). */
const param = (v: unknown) => (typeof v === 'string' ? v : undefined);
const now = () => Math.floor(Date.now() / 1000);

export function callbackRoute(app: FastifyInstance, d: CallbackDeps) {
  const { origin, redirectUri } = derive(d.config);

  /** The transaction `state` names, checked against this browser's cookie and consumed. */
  function transaction(request: FastifyRequest, reply: FastifyReply, q: Record<string, unknown>) {
    const state = param(q.state);
    if (!state) throw failed('missing state', 'sign-in failed: missing state');
    const tx = d.transactions.finish(request, reply, state);
    if (!tx) {
      throw failed(
        'unknown or expired state',
        'sign-in expired or was started in another browser; start again',
      );
    }
    return { state, tx };
  }

  /** The provider came back with an error instead of a code (only a plain code name is repeated). */
  function providerError(q: Record<string, unknown>): void {
    const error = param(q.error);
    if (!error) return;
    const code = /^[a-z_]{1,64}$/.test(error) ? error : 'error';
    const fail = code === 'access_denied' ? refused : failed;
    throw fail(`provider error ${code}`, `the provider refused sign-in (${code})`);
  }

  function authorizationCode(q: Record<string, unknown>): string {
    const code = param(q.code);
    if (!code) throw failed('missing code', 'sign-in failed: missing code');
    return code;
  }

  /** The ID-token check; without the provider's keys, a 503 that a reload can retry. */
  function idTokenVerifier(request: FastifyRequest, reply: FastifyReply, tx: LoginTx): VerifyIdToken {
    const verify = d.verifyIdToken();
    if (verify) return verify;
    d.transactions.restore(request, reply, tx); // a reload retries once the provider is back
    throw new ProviderUnavailableError();
  }

  /** Redeems the code; the ID token is verified and UserInfo claims fetched before anything is cached. */
  async function redeem(
    request: FastifyRequest,
    reply: FastifyReply,
    { state, tx, code, verify }: { state: string; tx: LoginTx; code: string; verify: VerifyIdToken },
  ): Promise<{ result: Redeemed; payload: JWTPayload }> {
    let payload: JWTPayload | undefined;
    try {
      const result = await d.tokens.redeem(
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
      return { result, payload: payload as JWTPayload };
    } catch (err) {
      throw redemptionFailure(err) ?? restoreOnOutage(request, reply, tx, err);
    }
  }

  /** An outage (503): the code is most likely unredeemed, so a reload may still complete the sign-in. */
  function restoreOnOutage(request: FastifyRequest, reply: FastifyReply, tx: LoginTx, err: unknown) {
    if ((err as { statusCode?: number }).statusCode === 503) d.transactions.restore(request, reply, tx);
    return err;
  }

  /**
   * Never reuses a pre-login session. The same account signing in again (consent, claims challenge, a
   * second login) keeps the token cache partition redeem() has just written. Then the new record and cookie.
   */
  async function replaceSession(
    request: FastifyRequest,
    result: Redeemed,
    claims: Claims,
    providerSid?: unknown,
  ) {
    const account = result.account;
    await d.endSession(request, false, account.homeAccountId).catch(() => undefined);
    const sid = randomBytes(24).toString('base64url');
    const lifetime = d.config.session.lifetime;
    const hint = result.idToken.length <= 2048 ? { idToken: result.idToken } : {};
    // Indexed by the provider's session id and user only when the provider may sign it out (issue 16).
    const { backchannelLogout, frontchannelLogout } = d.config.identity;
    const ref =
      backchannelLogout || frontchannelLogout
        ? {
            iss: claims.iss,
            sub: claims.sub,
            sid: typeof providerSid === 'string' && providerSid ? providerSid : undefined,
          }
        : undefined;
    await d.records.create(sid, { homeAccountId: account.homeAccountId, claims, ...hint }, lifetime, ref);
    const acc: AccountRef = {
      homeAccountId: account.homeAccountId,
      environment: account.environment,
      tenantId: account.tenantId,
      username: account.username,
      localAccountId: account.localAccountId,
    };
    const t = now();
    request.session.set('signedIn', { sid, acc, iat: t, seen: t, exp: t + Math.floor(lifetime) });
  }

  /**
   * The return target was checked when the login started and sealed since; checked again so no other
   * writer of the transaction (an older version, a future field) can make this Location leave the origin.
   */
  function redirect(reply: FastifyReply, tx: LoginTx) {
    const target = safeReturnTo(tx.returnTo, origin, d.config.forwardAuth.allowedHosts);
    return reply.code(302).headers(OWN_PAGE_HEADERS).header('location', target).send();
  }

  return async (request: FastifyRequest, reply: FastifyReply) => {
    const q = request.query as Record<string, unknown>;
    try {
      const { state, tx } = transaction(request, reply, q);
      providerError(q);
      const code = authorizationCode(q);
      const verify = idTokenVerifier(request, reply, tx);
      const { result, payload } = await redeem(request, reply, { state, tx, code, verify });
      const claims = claimsFromIdToken(payload as Record<string, unknown>, d.config.identity.protocol);
      await replaceSession(request, result, claims, payload.sid);
      d.loop.signedIn(request, reply);
      request.log.info({ event: 'sign_in', user: userHash(claims) }, 'signed in');
      app.metrics?.signIn('ok');
      return redirect(reply, tx);
    } catch (err) {
      if (!(err instanceof SignInFailure)) throw err;
      request.log.warn({ event: 'sign_in_failed', reason: err.reason }, `sign-in failed: ${err.reason}`);
      app.metrics?.signIn('failed', err.reason.split(/[ :]/, 1)[0]);
      return sendError(request, reply, err.answer);
    }
  };
}

/** Redemption errors that are the sign-in's fault (not an outage): a failure with its reason, else undefined. */
function redemptionFailure(err: unknown): SignInFailure | undefined {
  if (err instanceof IdTokenError) {
    const fail = err.reason.startsWith('tenant') ? refused : failed;
    return fail(err.reason, 'sign-in failed: the ID token was rejected');
  }
  if (err instanceof UserInfoError) {
    return failed(err.reason, 'sign-in failed: the provider gave inconsistent user information');
  }
  if (err instanceof InteractionRequired) {
    return failed(
      `code redemption: ${err.reason}`,
      'sign-in failed: the authorization code is invalid or used',
    );
  }
  return undefined;
}
