// Verifies an OpenID Connect Back-Channel Logout 1.0 logout token (section 2.6), replay aside (the caller's store).
//
// Enforced: a JWS signed by the provider (its JWKS, asymmetric algorithms only); `iss` equals discovery's
// issuer (Entra multi-tenant: {tenantid} replaced by the token's `tid`); `aud` includes our client id,
// `azp` if present is us; `iat` present and within identity.clockSkew of now (both ways); `exp`, when
// present, not passed (with the same skew); `jti` present; `events` an object holding the
// back-channel-logout event (an object itself); no `nonce` (an ID token is not a logout token); `sid`
// and/or `sub` present, each a non-empty string. A `typ` header other than `logout+jwt`/`JWT` refused.
import { errors, type JWTPayload, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import type { IdentityConfig } from '../config/schema.js';
import { ProviderUnavailableError } from '../errors.js';
import type { Discovery } from './discovery.js';
import { ALGORITHMS, expectedIssuer } from './id-token.js';
import { providerKeys } from './jwks.js';
import type { ProviderHttp } from './network.js';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const MAX_TOKEN = 8192;

export class LogoutTokenError extends Error {
  constructor(readonly reason: string) {
    super(`logout token rejected: ${reason}`);
    this.name = 'LogoutTokenError';
  }
}

/** What a verified logout token names: the provider's issuer, and its session id and/or subject. */
export interface LogoutClaims {
  iss: string;
  sid?: string;
  sub?: string;
  jti: string;
  /** Epoch seconds after which the token could no longer pass these checks (for the replay memory). */
  acceptableUntil: number;
}

export type LogoutTokenVerifier = (token: string) => Promise<LogoutClaims>;

export function logoutTokenVerifier(
  id: IdentityConfig,
  discovery: Discovery,
  http: ProviderHttp,
  logger?: Logger,
): LogoutTokenVerifier {
  const jwks = providerKeys(discovery.jwks_uri, http, logger);
  const template = discovery.issuer;
  const skew = id.clockSkew;

  return async (token) => {
    if (token.length > MAX_TOKEN) throw new LogoutTokenError('too long');
    const expected = expectedIssuer(template, token);
    if (!expected) throw new LogoutTokenError('not a JWT');
    const { issuer } = expected;
    if (!issuer) throw new LogoutTokenError('multi-tenant issuer but no tid claim');
    let payload: JWTPayload;
    let typ: string | undefined;
    try {
      ({
        payload,
        protectedHeader: { typ },
      } = await jwtVerify(token, jwks, {
        issuer,
        audience: id.clientId,
        clockTolerance: skew,
        algorithms: ALGORITHMS,
        requiredClaims: ['iat', 'jti'],
      }));
    } catch (err) {
      // The provider's keys out of reach is an outage (503, the provider retries), not a bad token.
      if (outage(err)) {
        throw new ProviderUnavailableError({ cause: err });
      }
      throw new LogoutTokenError(describe(err));
    }
    if (typ !== undefined && !/^(application\/)?(logout\+jwt|jwt)$/i.test(typ)) {
      throw new LogoutTokenError('typ header is not logout+jwt');
    }
    return claimsOf(payload, id.clientId, skew);
  };
}

/** The checks jose does not do itself (section 2.6 steps 3-5, 7). */
function claimsOf(p: JWTPayload, clientId: string, skew: number): LogoutClaims {
  const now = Math.floor(Date.now() / 1000);
  const iat = p.iat as number;
  // jose checks iat only with a maximum age: here both ways, so a token lives at most 2 x skew.
  if (Math.abs(now - iat) > skew) throw new LogoutTokenError('claim iat is outside identity.clockSkew');
  if (p.azp !== undefined && p.azp !== clientId) throw new LogoutTokenError('claim azp names another client');
  const events = p.events as Record<string, unknown> | undefined;
  const event = events && typeof events === 'object' ? events[LOGOUT_EVENT] : undefined;
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new LogoutTokenError('claim events lacks the back-channel logout event');
  }
  if (p.nonce !== undefined) throw new LogoutTokenError('claim nonce present (not a logout token)');
  const sid = nonEmpty(p.sid, 'sid');
  const sub = nonEmpty(p.sub, 'sub');
  if (!sid && !sub) throw new LogoutTokenError('neither sid nor sub');
  const jti = nonEmpty(p.jti, 'jti') as string;
  const until = Math.min(iat + skew, typeof p.exp === 'number' ? p.exp + skew : Number.POSITIVE_INFINITY);
  return {
    iss: p.iss as string,
    jti,
    acceptableUntil: until,
    ...(sid ? { sid } : {}),
    ...(sub ? { sub } : {}),
  };
}

function nonEmpty(v: unknown, claim: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 1024) {
    throw new LogoutTokenError(`claim ${claim} is not a string`);
  }
  return v;
}

function describe(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `claim ${err.claim} ${err.reason}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return 'signed by an unknown key';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  return (err as errors.JOSEError).code;
}

/** The key set could not be had (timeout, an HTTP error, not a key set, a network error): not the token's fault. */
const outage = (err: unknown) =>
  !(err instanceof errors.JOSEError) ||
  err instanceof errors.JWKSTimeout ||
  err instanceof errors.JWKSInvalid ||
  err.code === 'ERR_JOSE_GENERIC';
