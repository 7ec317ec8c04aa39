// Cross-field rules for apiClients: who may call with a bearer token must be spelled out (fail closed).
import type { Config } from '../schema.js';

export function apiClientRules(c: Config): string[] {
  const a = c.apiClients;
  if (!a.enabled) return [];
  const problems: string[] = [];
  // Any application of a tenant can get a token for any API there: the scope (delegated) or the role
  // (app-only) is what says this caller was meant to use this API.
  if (a.requiredScopes.length === 0) {
    problems.push(
      'apiClients.requiredScopes: at least one scope is required when apiClients.enabled (the scope the API exposes, e.g. access_as_user)',
    );
  }
  if (a.allowAppOnly && a.allowedRoles.length === 0) {
    problems.push(
      'apiClients.allowedRoles: at least one role is required with allowAppOnly (otherwise any application of the tenant is let in)',
    );
  }
  if (!a.allowAppOnly && a.allowedRoles.length > 0) {
    problems.push('apiClients.allowedRoles: only applies with allowAppOnly: true');
  }
  // RFC 8693 token exchange (oidc) is sent with the client secret; MSAL (aad) handles every credential.
  const userRoutes = c.routes.filter((r) => r.token === 'user');
  if (c.identity.protocol === 'oidc' && userRoutes.length > 0 && c.identity.clientSecret === undefined) {
    problems.push(
      `identity.clientSecret: apiClients with token: user routes (${userRoutes.map((r) => r.name).join(', ')}) in oidc mode need a client secret (token exchange authenticates with it)`,
    );
  }
  if (a.introspection.enabled && c.identity.clientSecret === undefined) {
    problems.push(
      'identity.clientSecret: apiClients.introspection authenticates to the provider with the client secret',
    );
  }
  return problems;
}
