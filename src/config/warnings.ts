// Start-up warnings computed from the config alone (also printed by --check-config): allowed, but risky enough to say so once at start.
import type { Config } from './schema.js';

/** Every warning for this config, in the order they are logged (event 'config', level warn). */
export function configWarnings(c: Config): string[] {
  const warnings: string[] = [];
  if (c.tokenCache.type === 'memory') warnings.push('tokenCache.type is memory: run a single replica');
  const tenantRisk = multiTenantWarning(c);
  if (tenantRisk) warnings.push(tenantRisk);
  if (c.trustProxy === true) {
    warnings.push(
      'trustProxy is true: X-Forwarded-For/-Proto/-Host are believed from any client; list the proxies (addresses, CIDRs or a hop count) when one can reach authward directly',
    );
  }
  warnings.push(...sharedScopeWarnings(c.routes));
  for (const r of c.routes) {
    if (r.token === 'app' && r.public) {
      warnings.push(
        `routes[${r.name}] (token: app, public: true): publicRoutes under this route send the application token for anonymous callers`,
      );
    }
  }
  return warnings;
}

/**
 * MSAL keeps one access token per scope set: a new one replaces any sharing a scope with it in the
 * account's partition, so two user routes naming one scope for different resources keep refreshing
 * each other's token (app tokens have one client per resource).
 */
function sharedScopeWarnings(routes: Config['routes']): string[] {
  const user = routes.filter((r) => r.token !== 'app');
  const out: string[] = [];
  for (const [i, a] of user.entries()) {
    for (const b of user.slice(i + 1)) {
      if (a.resource === b.resource) continue;
      const shared = a.scopes.find((s) => b.scopes.some((t) => t.toLowerCase() === s.toLowerCase()));
      if (shared) {
        out.push(
          `routes ${a.name} and ${b.name} share scope ${shared} with different resources: their tokens replace each other in the cache (a refresh whenever the other was used); give each API its own scope`,
        );
      }
    }
  }
  return out;
}

/**
 * aad with a multi-tenant authority (`common`, `organizations`) and no tenant restriction: users of
 * every Entra tenant can sign in, and anyone can create a tenant. A warning, not an error: a public
 * multi-tenant app may mean exactly that. The tenant is the authority's first path segment when one is
 * given (as tokens/provider.ts builds the authority), else identity.tenantId.
 */
function multiTenantWarning(c: Config): string | undefined {
  const id = c.identity;
  if (id.protocol !== 'aad') return undefined;
  const tenant = (
    id.authority ? new URL(id.authority).pathname.split('/').find(Boolean) : id.tenantId
  )?.toLowerCase();
  if (tenant !== 'common' && tenant !== 'organizations') return undefined;
  if (id.allowedTenants || c.authorization.allowedTenants) return undefined;
  return `identity authority is multi-tenant (${tenant}) and no tenant is required: users of any Entra tenant can sign in (anyone can create a tenant); set identity.allowedTenants or authorization.allowedTenants`;
}
