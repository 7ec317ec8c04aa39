// The test IdP's API-client side (issue 14): the on-behalf-of grant as Entra has it (jwt-bearer,
// requested_token_use=on_behalf_of), RFC 8693 token exchange, application roles on client-credentials
// tokens, claims challenges on those grants, and tokens minted with the IdP's key (or forged) for refusal
// tests. Hooked into startIdp through its `extend` option: an IdP started without it is unchanged.
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import { type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import { resourceOf } from './idp.js';

export const OBO_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

export interface ApiGrantsOptions {
  /** `aud` values an incoming assertion / subject token may have: the middle tier's own API. */
  assertionAudiences: string[];
  /** Which grants the IdP offers (and lists in discovery's grant_types_supported). Default both. */
  grants?: ('obo' | 'exchange')[];
  /** Application roles every client-credentials token carries (Entra: app roles granted to the client). */
  appRoles?: string[];
  /** Lifetime of issued tokens (capped at the incoming token's exp). Default 3600. */
  ttlSeconds?: number;
}

export type MintKey = 'idp-key' | 'other-key' | 'none' | 'hs256-public';

export interface ApiGrants {
  /** Pass as startIdp({ extend }). */
  extend: { configure(configuration: Record<string, unknown>): void; provider(provider: unknown): void };
  /** A JWT with the given claims (iss, iat, exp, jti filled in unless given), signed as asked. */
  mint(claims: JWTPayload, o?: { key?: MintKey; header?: Record<string, unknown> }): Promise<string>;
  /** The next `count` OBO / exchange requests answer a claims challenge (Entra: interaction_required). */
  challengeNext(claimsJson: string, count?: number): void;
  /** Successful grants served (attempts are in the IdP's counters.otherGrants). */
  served: { obo: number; exchange: number };
}

interface Ctx {
  status: number;
  body: unknown;
  oidc: { params: Record<string, unknown>; client: { clientId: string } };
}
interface ProviderLike {
  issuer: string;
  registerGrantType(name: string, handler: (ctx: Ctx) => Promise<void>, params: string[]): void;
  Client: { prototype: { grantTypeAllowed(type: string): boolean } };
}

export function apiGrants(o: ApiGrantsOptions): ApiGrants {
  const grants = new Set(o.grants ?? ['obo', 'exchange']);
  const ttl = o.ttlSeconds ?? 3600;
  let signing: { key: KeyObject | Uint8Array; kid: string; publicKey: KeyObject } | undefined;
  let issuer = '';
  let other: KeyObject | undefined;
  let challenge: { claims: string; left: number } | undefined;
  const served = { obo: 0, exchange: 0 };

  const sign = async (claims: JWTPayload, key: MintKey = 'idp-key', header: Record<string, unknown> = {}) => {
    if (!signing) throw new Error('apiGrants: the IdP has not started');
    const now = Math.floor(Date.now() / 1000);
    const body = { iss: issuer, iat: now, exp: now + ttl, jti: randomUUID(), ...claims };
    if (key === 'none') {
      const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      return `${enc({ alg: 'none', typ: 'at+jwt', ...header })}.${enc(body)}.`;
    }
    if (key === 'hs256-public') {
      // The classic confusion attack: HMAC keyed with the provider's public key (which anyone has).
      const secret = Buffer.from(signing.publicKey.export({ type: 'spki', format: 'pem' }) as string);
      return new SignJWT(body).setProtectedHeader({ alg: 'HS256', kid: signing.kid, ...header }).sign(secret);
    }
    if (key === 'other-key') other ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    return new SignJWT(body)
      .setProtectedHeader({ alg: 'RS256', kid: signing.kid, typ: 'at+jwt', ...header })
      .sign(key === 'other-key' ? (other as KeyObject) : signing.key);
  };

  /** Both grants: the incoming user token in, a token for the scope's resource out (same user). */
  const grant = (kind: 'obo' | 'exchange') => async (ctx: Ctx) => {
    const p = ctx.oidc.params;
    const fail = (error: string, description: string, extra: Record<string, unknown> = {}) => {
      ctx.status = 400;
      ctx.body = { error, error_description: description, ...extra };
    };
    if (kind === 'obo' && p.requested_token_use !== 'on_behalf_of')
      return fail('invalid_request', 'requested_token_use must be on_behalf_of');
    if (kind === 'exchange' && p.subject_token_type !== ACCESS_TOKEN_TYPE)
      return fail('invalid_request', 'subject_token_type must be an access token');
    if (challenge && challenge.left > 0) {
      challenge.left--;
      // Entra's answer when Conditional Access wants more (MFA): MSAL raises InteractionRequiredAuthError.
      return fail('interaction_required', 'AADSTS50076: multi-factor authentication required', {
        suberror: 'basic_action',
        claims: challenge.claims,
      });
    }
    const incoming = String((kind === 'obo' ? p.assertion : p.subject_token) ?? '');
    let user: JWTPayload;
    try {
      ({ payload: user } = await jwtVerify(incoming, (signing as { publicKey: KeyObject }).publicKey, {
        issuer,
        audience: o.assertionAudiences,
      }));
    } catch (err) {
      return fail('invalid_grant', `assertion refused: ${(err as Error).message}`);
    }
    const scopes = String(p.scope ?? '')
      .split(' ')
      .filter((s) => s && !OIDC_SCOPES.has(s));
    const resource = typeof p.resource === 'string' ? p.resource : resourceOf(scopes[0] ?? '');
    if (!resource || scopes.some((s) => resourceOf(s) !== resource && !s.startsWith(`${resource}/`)))
      return fail('invalid_scope', 'scopes must name one resource');
    const now = Math.floor(Date.now() / 1000);
    const exp = Math.min(typeof user.exp === 'number' ? user.exp : now + ttl, now + ttl);
    const passOn = Object.fromEntries(
      ['oid', 'tid', 'preferred_username', 'name'].flatMap((k) =>
        user[k] === undefined ? [] : [[k, user[k]]],
      ),
    );
    const token = await sign(
      {
        ...passOn,
        sub: user.sub,
        aud: resource,
        scope: scopes.join(' '),
        client_id: ctx.oidc.client.clientId,
        exp,
      },
      'idp-key',
    );
    served[kind]++;
    ctx.body = {
      access_token: token,
      token_type: 'Bearer',
      expires_in: exp - now,
      scope: scopes.join(' '),
      ...(kind === 'exchange' ? { issued_token_type: ACCESS_TOKEN_TYPE } : {}),
    };
  };

  return {
    served,
    mint: (claims, m = {}) => sign(claims, m.key, m.header),
    challengeNext(claims, count = 1) {
      challenge = { claims, left: count };
    },
    extend: {
      configure(configuration) {
        const jwk = (configuration.jwks as { keys: JWK[] }).keys[0] as JWK;
        const key = createPrivateKey({ key: jwk as Record<string, string>, format: 'jwk' });
        signing = { key, kid: String(jwk.kid), publicKey: createPublicKey(key) };
        const extra = configuration.extraTokenClaims as
          | ((ctx: unknown, token: { accountId?: string }) => Promise<Record<string, unknown> | undefined>)
          | undefined;
        configuration.extraTokenClaims = async (ctx: unknown, token: { accountId?: string }) => {
          const base = (await extra?.(ctx, token)) ?? {};
          return !token.accountId && o.appRoles ? { ...base, roles: o.appRoles } : base;
        };
      },
      provider(provider) {
        const p = provider as ProviderLike;
        issuer = p.issuer;
        if (grants.has('obo'))
          p.registerGrantType(OBO_GRANT, grant('obo'), ['assertion', 'requested_token_use', 'scope']);
        if (grants.has('exchange')) {
          p.registerGrantType(EXCHANGE_GRANT, grant('exchange'), [
            'subject_token',
            'subject_token_type',
            'requested_token_type',
            'audience',
            'scope',
          ]);
        }
        // The test clients are registered for the usual grants: these are allowed to every client.
        const proto = p.Client.prototype;
        const allowed = proto.grantTypeAllowed;
        proto.grantTypeAllowed = function (this: unknown, type: string) {
          return (
            (type === OBO_GRANT && grants.has('obo')) ||
            (type === EXCHANGE_GRANT && grants.has('exchange')) ||
            allowed.call(this, type)
          );
        };
      },
    },
  };
}
