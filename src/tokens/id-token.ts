// Verifies the ID token itself: MSAL checks only nonce and state, never signature, issuer or audience.
//
// Enforced: RS/ES/PS signature against the provider's JWKS (refetched at once on an unknown kid, jwks.ts);
// `iss` equals discovery's issuer (Entra multi-tenant: with {tenantid} replaced by the token's `tid`);
// `aud` is our client id, `azp` (required with several audiences) too; `exp`/`nbf`/`iat` within
// clockSkew (`iat` in the future refused); `nonce` equals the login transaction's;
// `tid` in identity.allowedTenants when that list is set.
import { decodeJwt, decodeProtectedHeader, errors, type JWTPayload, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import type { IdentityConfig } from '../config/schema.js';
import type { Discovery } from './discovery.js';
import { describeKid, providerKeys } from './jwks.js';
import type { ProviderHttp } from './network.js';

export class IdTokenError extends Error {
  constructor(readonly reason: string) {
    super(`ID token rejected: ${reason}`);
    this.name = 'IdTokenError';
  }
}

export const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

export function idTokenVerifier(
  id: IdentityConfig,
  discovery: Discovery,
  http: ProviderHttp,
  logger?: Logger,
) {
  const jwks = providerKeys(discovery.jwks_uri, http, logger);
  const issuerTemplate = discovery.issuer;
  const allowedTenants = id.allowedTenants
    ? new Set(id.allowedTenants.map((t) => t.toLowerCase()))
    : undefined;

  return async function verify(idToken: string, nonce: string): Promise<JWTPayload> {
    const expected = expectedIssuer(issuerTemplate, idToken);
    if (!expected) throw new IdTokenError('not a JWT');
    const { unverified, issuer, tid } = expected;
    if (!issuer) throw new IdTokenError('multi-tenant issuer but no tid claim');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, jwks, {
        issuer,
        audience: id.clientId,
        clockTolerance: id.clockSkew,
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (err) {
      throw new IdTokenError(describeRefusal(err, unverified, id.clockSkew, idToken));
    }
    // jose checks iat only together with a maximum age: a token dated in the future is refused here.
    const ahead = typeof payload.iat === 'number' ? payload.iat - Math.floor(Date.now() / 1000) : 0;
    if (ahead > id.clockSkew)
      throw new IdTokenError(`claim iat is ${ahead} s in the future ${clocksHint(id.clockSkew)}`);
    // OIDC Core 3.1.3.7: a token for several audiences must name the party it was issued to, and an
    // azp must be us (otherwise it is another client's token that happens to list us).
    if (payload.azp !== undefined && payload.azp !== id.clientId) {
      throw new IdTokenError('claim azp names another client');
    }
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp === undefined) {
      throw new IdTokenError('claim azp missing with several audiences');
    }
    if (payload.nonce !== nonce) throw new IdTokenError('nonce mismatch');
    if (allowedTenants && !(tid && allowedTenants.has(tid.toLowerCase()))) {
      throw new IdTokenError(`tenant ${tid ?? '(none)'} is not allowed`);
    }
    return payload;
  };
}

/**
 * A token's unverified payload and the issuer it must name: discovery's, or for an Entra multi-tenant
 * template, with {tenantid} replaced by the token's `tid` (undefined without one). Null: not a JWT.
 */
export function expectedIssuer(
  template: string,
  token: string,
): { unverified: JWTPayload; issuer: string | undefined; tid: string | undefined } | null {
  let unverified: JWTPayload;
  try {
    unverified = decodeJwt(token);
  } catch {
    return null;
  }
  const tid = typeof unverified.tid === 'string' ? unverified.tid : undefined;
  if (!template.includes('{tenantid}')) return { unverified, issuer: template, tid };
  return { unverified, issuer: tid && template.replace('{tenantid}', tid), tid };
}

const clocksHint = (clockSkew: number) =>
  `by this server's clock (identity.clockSkew ${clockSkew} s; are the clocks in sync?)`;

/** A verification failure in words for the log (never the token). */
export function describeRefusal(err: unknown, payload: JWTPayload, clockSkew: number, token: string): string {
  // A time claim off by more than clockSkew is nearly always the provider's clock or ours: say by how
  // much, so the log points at clock sync rather than at a forged token.
  const now = Math.floor(Date.now() / 1000);
  const by = (claim: 'exp' | 'nbf' | 'iat') =>
    typeof payload[claim] === 'number' ? Math.abs(now - (payload[claim] as number)) : undefined;
  const clocks = clocksHint(clockSkew);
  if (err instanceof errors.JWTExpired) return `expired ${by('exp') ?? '?'} s ago ${clocks}`;
  if (
    err instanceof errors.JWTClaimValidationFailed &&
    (err.claim === 'nbf' || err.claim === 'iat') &&
    err.reason === 'check_failed'
  ) {
    return `claim ${err.claim} is ${by(err.claim) ?? '?'} s in the future ${clocks}`;
  }
  if (err instanceof errors.JWTClaimValidationFailed) return `claim ${err.claim} ${err.reason}`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) {
    return `signed by an unknown key ${kidOf(token)}, also after refetching the provider's keys`;
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm not allowed';
  return (err as Error).message ?? String(err);
}

function kidOf(token: string): string {
  try {
    return describeKid(decodeProtectedHeader(token).kid);
  } catch {
    return '(no kid)';
  }
}
