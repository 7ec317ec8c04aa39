// The demo provider's oidc-provider configuration: one confidential client (authward), one API, any user.
//
// Shaped like an Entra tenant for MSAL (see shared/docs/msal-notes.md): API scopes become resource
// indicators (so the API gets a JWT with its own `aud`), `profile` carries name and
// preferred_username into the ID token, and groups ride on `openid`.

import type { KeyObject } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { exportJWK } from 'jose';
import type { KoaContext } from './oidc-types.js';
import { logoutSource, postLogoutSuccessSource, renderError } from './provider-pages.js';

export interface ClientRegistration {
  clientId: string;
  clientSecret: string;
  /** Exact redirect URIs (authward's publicUrl + callback path). */
  redirectUris: string[];
}

/** Claims of a login name. `demo` is the documented user; any other name signs in too. */
export function claimsFor(login: string): Record<string, unknown> {
  const base: Record<string, unknown> = {
    email: `${login}@example.com`,
    email_verified: true,
    name: login,
    preferred_username: `${login}@example.com`,
    groups: ['authward-demo-users'],
  };
  if (login === 'demo') Object.assign(base, { name: 'Demo User', given_name: 'Demo', family_name: 'User' });
  // The subject is the login: oidc-provider's account id and the ID token's sub must agree.
  return { ...base, sub: login };
}

/** "api://demo/read" -> "api://demo"; null when the scope names no resource. */
export function resourceOf(scope: string): string | null {
  const scheme = scope.indexOf('://');
  const slash = scope.lastIndexOf('/');
  return scheme > 0 && slash > scheme + 2 ? scope.slice(0, slash) : null;
}

export async function providerConfiguration(opts: {
  client: ClientRegistration;
  apiScopes: string[];
  signingKey: KeyObject;
  accessTokenTTL: number;
  invalidTarget: new (description?: string) => Error;
}): Promise<Record<string, unknown>> {
  const resources = new Map<string, string[]>();
  for (const scope of opts.apiScopes) {
    const resource = resourceOf(scope);
    if (!resource) throw new Error(`API scope "${scope}" is not of the form <resource>/<permission>`);
    resources.set(resource, [...(resources.get(resource) ?? []), scope]);
  }
  const wanted = (scope: unknown) => [
    ...new Set(
      String(scope ?? '')
        .split(' ')
        .map(resourceOf)
        .filter((r): r is string => r !== null),
    ),
  ];
  return {
    clients: [
      {
        client_id: opts.client.clientId,
        client_secret: opts.client.clientSecret,
        // MSAL Node sends the secret in the form body.
        token_endpoint_auth_method: 'client_secret_post',
        redirect_uris: opts.client.redirectUris,
        response_types: ['code'],
        grant_types: ['authorization_code', 'refresh_token'],
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(opts.signingKey)), kid: 'demo-rs256', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    claims: {
      openid: ['sub', 'groups', 'roles'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'email', 'email_verified'],
      email: ['email', 'email_verified'],
    },
    conformIdTokenClaims: false,
    renderError,
    findAccount: (_ctx: unknown, accountId: string) => ({
      accountId,
      claims: async () => claimsFor(accountId),
    }),
    pkce: { required: () => true },
    rotateRefreshToken: false,
    ttl: {
      AccessToken: opts.accessTokenTTL,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: 86_400,
      Interaction: 600,
      Session: 86_400,
      Grant: 86_400,
    },
    features: {
      // The login form accepts any user name and password: development tooling only.
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      resourceIndicators: {
        enabled: true,
        // No `resource` parameter (MSAL sends none): the resources the requested scopes name.
        defaultResource: async (ctx: KoaContext, _client: unknown, oneOf?: string[]) => {
          const names = wanted(ctx.oidc?.params?.scope ?? ctx.oidc?.body?.scope);
          if (oneOf) return oneOf.find((r) => names.includes(r)) ?? oneOf[0];
          if (names.length === 0) return undefined;
          return names.length === 1 ? names[0] : names;
        },
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          const scopes = resources.get(indicator);
          if (!scopes) throw new opts.invalidTarget(`unknown resource ${indicator}`);
          return {
            scope: scopes.join(' '),
            audience: indicator,
            accessTokenFormat: 'jwt',
            accessTokenTTL: opts.accessTokenTTL,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
  };
}
