// API clients' bearer tokens: taken from the one Authorization header, verified against the provider's keys.
//
// Enforced: exactly one Authorization header (several: 400) and a bearer token of at most
// apiClients.maxTokenBytes (400, before any parsing); signature with an allow-listed asymmetric
// algorithm against the provider's JWKS (an unknown kid refetches, rate-limited: tokens/jwks.ts); `iss`
// one of the accepted issuers (aad: the v2 and v1 forms; a multi-tenant authority with the token's
// `tid`, which must be in identity.allowedTenants when set); `aud` one of the audiences; `exp`/`nbf`
// within identity.clockSkew; an ID token is never an access token; a delegated token carries one of
// requiredScopes, an app-only token is refused unless allowAppOnly and it carries one of allowedRoles.
// A verified token is cached by its hash until its `exp` (bounded LRU): a repeat costs a hash only. An
// opaque token's introspection answer is cached for apiClients.introspection.cacheSeconds at most (never
// past `exp`), so a token revoked at the provider is refused at most that long after.
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { decodeJwt, errors, type JWTPayload, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import {
  BadRequestError,
  InsufficientScopeError,
  InvalidTokenError,
  ProviderUnavailableError,
} from '../errors.js';
import type { Discovery } from '../tokens/discovery.js';
import { describeRefusal } from '../tokens/id-token.js';
import { providerKeys } from '../tokens/jwks.js';
import type { ProviderHttp } from '../tokens/network.js';
import { claimsFromIdToken, identityHeaders, userHash } from './claims.js';
import type { Introspector } from './introspection.js';
import type { ApiPrincipal } from './principal.js';

/** Why a token was refused: the answer (401 invalid_token, 403 insufficient_scope) and a reason for the log. */
export class BearerRefusal extends Error {
  constructor(
    readonly error: 'invalid_token' | 'insufficient_scope',
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'BearerRefusal';
  }
  answer() {
    return this.error === 'invalid_token' ? new InvalidTokenError() : new InsufficientScopeError();
  }
}

const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The request's bearer token: undefined when its Authorization is absent or another scheme (Basic,
 * Negotiate: not this mode's), an Error to answer (several headers, too long, malformed), else the token.
 */
export function bearerOf(request: FastifyRequest, maxBytes: number): string | Error | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  // Node keeps only the first of repeated Authorization headers: count them in the raw list.
  const raw = request.raw.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 13 && name.toLowerCase() === 'authorization') count++;
  }
  if (count > 1) return new BadRequestError('several Authorization headers');
  if (header.length > maxBytes + 7) return new BadRequestError('bearer token too large');
  if (header.length < 7 || header.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = BEARER.exec(header)?.[1];
  return token ?? new BearerRefusal('invalid_token', 'malformed bearer token');
}

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

const list = (v: unknown) =>
  typeof v === 'string' ? v.split(' ').filter(Boolean) : Array.isArray(v) ? v.map(String) : [];

/** A granted scope meets a required one as written, or as Entra's short `scp` name of `api://app/name`. */
const scopeMatches = (granted: string, required: string) =>
  granted === required || required.endsWith(`/${granted}`) || granted.endsWith(`/${required}`);

/** A verified token's principal and when it stops being served from the cache (epoch ms). */
interface Verified {
  principal: ApiPrincipal;
  until: number;
}

export class BearerVerifier {
  private readonly verified: LRUCache<string, Verified> | null;
  private readonly jwks: ReturnType<typeof providerKeys>;
  private readonly issuers: readonly string[];
  private readonly audiences: string[];
  private readonly allowedTenants: Set<string> | undefined;

  constructor(
    private readonly config: Config,
    discovery: Discovery,
    http: ProviderHttp,
    private readonly idp: string,
    logger?: Logger,
    /** apiClients.introspection: opaque tokens asked about at the provider (else refused). */
    private readonly introspector?: Introspector,
    /** Epoch ms now (tests move time with it). */
    private readonly now: () => number = Date.now,
  ) {
    const a = config.apiClients;
    const id = config.identity;
    this.jwks = providerKeys(discovery.jwks_uri, http, logger);
    this.issuers = a.issuers ?? defaultIssuers(id.protocol, discovery.issuer);
    this.audiences = a.audiences ?? [id.clientId, ...(id.protocol === 'aad' ? [`api://${id.clientId}`] : [])];
    this.allowedTenants = id.allowedTenants && new Set(id.allowedTenants.map((t) => t.toLowerCase()));
    this.verified = a.verifiedCacheSize > 0 ? new LRUCache({ max: a.verifiedCacheSize }) : null;
  }

  /** The principal of a token verified before and not yet expired (no signature check), else undefined. */
  peek(hash: string): ApiPrincipal | undefined {
    const hit = this.verified?.get(hash);
    if (!hit) return undefined;
    if (hit.until > this.now()) return hit.principal;
    this.verified?.delete(hash);
    return undefined;
  }

  /** Verifies the token (throws BearerRefusal) and returns its principal, cached by hash until `exp`. */
  async verify(token: string, hash: string): Promise<ApiPrincipal> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      if (!this.introspector) throw new BearerRefusal('invalid_token', 'not a JWT');
      return this.introspected(token, hash, await this.introspector.introspect(token));
    }
    const tid = typeof unverified.tid === 'string' ? unverified.tid : undefined;
    const issuers = this.issuers.some((i) => i.includes('{tenantid}'))
      ? this.issuers.map((i) => (tid ? i.replace('{tenantid}', tid) : i)).filter((i) => !i.includes('{'))
      : (this.issuers as string[]);
    const { clockSkew } = this.config.identity;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: issuers,
        audience: this.audiences,
        clockTolerance: clockSkew,
        currentDate: new Date(this.now()),
        algorithms: [...this.config.apiClients.algorithms],
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      // No key set to check against (the provider down): nobody can vouch for the token, and a 401
      // would tell the client to drop a valid one. 503: a dependency is down, try again.
      if (keysUnreachable(err)) throw new ProviderUnavailableError({ cause: err });
      throw new BearerRefusal('invalid_token', describeRefusal(err, unverified, clockSkew, token));
    }
    if (this.allowedTenants && !(tid && this.allowedTenants.has(tid.toLowerCase()))) {
      throw new BearerRefusal('invalid_token', `tenant ${tid ?? '(none)'} is not allowed`);
    }
    const principal = this.admit(payload, token, hash);
    this.verified?.set(hash, { principal, until: principal.exp * 1000 });
    return principal;
  }

  /** An opaque token the provider called active: the JWT checks of iss, aud, exp, then admit(). */
  private introspected(token: string, hash: string, p: JWTPayload): ApiPrincipal {
    const refuse = (reason: string) => new BearerRefusal('invalid_token', `introspection: ${reason}`);
    const tid = typeof p.tid === 'string' ? p.tid : '';
    if (p.iss !== undefined && !this.issuers.some((i) => i.replace('{tenantid}', tid) === p.iss))
      throw refuse('unexpected iss');
    const aud = Array.isArray(p.aud) ? p.aud : p.aud === undefined ? [] : [p.aud];
    if (!aud.some((a) => this.audiences.includes(a))) throw refuse('no accepted aud');
    const now = this.now();
    if (((p.exp as number) + this.config.identity.clockSkew) * 1000 <= now) throw refuse('expired');
    const principal = this.admit(p, token, hash);
    // The provider's word holds until the bound: then it is asked again (a revocation is noticed).
    const bound = now + this.config.apiClients.introspection.cacheSeconds * 1000;
    const until = Math.min(principal.exp * 1000, bound);
    if (until > now) this.verified?.set(hash, { principal, until });
    return principal;
  }

  /** Access token (not ID token), delegated with a required scope or app-only with an allowed role. */
  private admit(p: JWTPayload, token: string, hash: string): ApiPrincipal {
    const a = this.config.apiClients;
    // An ID token answers "who signed in", to the client: it grants nothing to an API.
    if (p.nonce !== undefined || p.at_hash !== undefined || p.c_hash !== undefined) {
      throw new BearerRefusal('invalid_token', 'an ID token is not an access token');
    }
    const scopes = list(p.scp ?? p.scope);
    const roles = list(p.roles);
    const client = p.client_id ?? p.azp ?? p.appid;
    // App-only (client credentials): Entra's idtyp or oid = sub without scp; RFC 9068: sub = the client.
    const appOnly =
      p.idtyp === 'app' ||
      (p.scp === undefined && p.oid !== undefined && p.oid === p.sub) ||
      (client !== undefined && p.sub === client);
    if (appOnly) {
      if (!a.allowAppOnly) throw new BearerRefusal('insufficient_scope', 'app-only tokens are not allowed');
      if (!roles.some((r) => a.allowedRoles.includes(r)))
        throw new BearerRefusal('insufficient_scope', 'no allowed role');
    } else {
      if (scopes.length === 0)
        throw new BearerRefusal('invalid_token', 'no scope: not an access token for this API');
      if (!scopes.some((s) => a.requiredScopes.some((r) => scopeMatches(s, r))))
        throw new BearerRefusal('insufficient_scope', 'no required scope');
    }
    const claims = claimsFromIdToken(p as Record<string, unknown>, this.config.identity.protocol);
    return Object.freeze({
      kind: 'api',
      claims,
      token,
      tokenHash: hash,
      appOnly,
      exp: p.exp as number,
      headers: identityHeaders(claims, this.config.upstream.identityHeaders, this.idp),
      user: userHash(claims),
    });
  }
}

/** oidc: the issuer. aad: the v2 issuer and its v1 twin (tokens for APIs default to v1). */
function defaultIssuers(protocol: Config['identity']['protocol'], issuer: string): string[] {
  if (protocol !== 'aad') return [issuer];
  const tenant = /\/([^/]+)\/v2\.0\/?$/.exec(issuer)?.[1];
  return tenant ? [issuer, `https://sts.windows.net/${tenant}/`] : [issuer];
}

/** jose's key-set fetch failures (timeout, non-200, network): not a verdict on the token. */
function keysUnreachable(err: unknown): boolean {
  if (err instanceof errors.JWKSTimeout) return true;
  if (!(err instanceof errors.JOSEError)) return true; // the fetch itself threw (connection refused)
  return err.code === 'ERR_JOSE_GENERIC'; // "Expected 200 OK from the JSON Web Key Set HTTP response"
}
