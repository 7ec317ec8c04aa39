// apiClients: callers that are not browsers (SPA, mobile app, script, service) sending `Authorization: Bearer`.
import { Type } from '@sinclair/typebox';
import { HttpUrl, strict } from './fields.js';

const Names = (description: string) =>
  Type.Array(Type.String({ minLength: 1 }), { default: [], description });

/** Asymmetric JWS algorithms only: `none` and HMAC (a shared secret the provider never gave us) never. */
export const BEARER_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
] as const;

export const ApiClients = strict(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'Accept `Authorization: Bearer <access token for this app>` from API clients (no cookie, no redirect). Off by default.',
    }),
    audiences: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          'Accepted `aud` values. Default: identity.clientId and, in aad mode, `api://<clientId>`.',
      }),
    ),
    issuers: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          "Accepted `iss` values. Default: the provider's issuer; in aad also the v1 form `https://sts.windows.net/<tid>/` (multi-tenant authorities: the token's `tid`, within allowedTenants).",
      }),
    ),
    requiredScopes: Names(
      'Delegated (user) tokens must carry one of these in `scp` or `scope` (a full `api://app/name` also matches the short `name` Entra puts in `scp`). Required when enabled.',
    ),
    allowAppOnly: Type.Boolean({
      default: false,
      description:
        'Accept app-only tokens (client credentials: `roles` without `scp`); they then need one of allowedRoles.',
    }),
    allowedRoles: Names('App-only tokens must carry one of these application roles (`roles`).'),
    algorithms: Type.Array(Type.Union(BEARER_ALGORITHMS.map((a) => Type.Literal(a))), {
      default: [...BEARER_ALGORITHMS],
      minItems: 1,
      uniqueItems: true,
      description: 'Signature algorithms accepted (asymmetric only).',
    }),
    maxTokenBytes: Type.Integer({
      minimum: 1024,
      maximum: 65_536,
      default: 16_384,
      description: 'A bearer token longer than this is refused (400) before any parsing.',
    }),
    verifiedCacheSize: Type.Integer({
      minimum: 0,
      default: 10_000,
      description:
        'Verified tokens kept in memory (by hash, until `exp`) so a repeated call costs no signature check; 0 turns it off.',
    }),
    introspection: strict(
      {
        enabled: Type.Boolean({
          default: false,
          description:
            'Ask the provider (RFC 7662, authenticated with identity.clientSecret) about bearer tokens that are not JWTs. Off by default: opaque tokens are refused.',
        }),
        endpoint: Type.Optional(
          HttpUrl("Introspection endpoint. Default: discovery's `introspection_endpoint`."),
        ),
        cacheSeconds: Type.Integer({
          minimum: 0,
          maximum: 86_400,
          default: 60,
          description:
            "How long an active answer is trusted before the provider is asked again (never past the token's `exp`): a token revoked at the provider is refused at most this long after. 0 asks on every request.",
        }),
      },
      'Opaque access tokens: checked at the provider, then like JWTs (`active`, iss, aud, exp, scope or role); an active answer is cached with verified tokens for cacheSeconds at most.',
    ),
  },
  'API clients with bearer tokens (issue 14): verification, app-only callers, on-behalf-of for routes.',
);
