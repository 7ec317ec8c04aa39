// What a sign-in may ask the provider for: configured scopes only, and a small JSON-object claims request.
//
// Rules: `scopes` (space-separated) must each be configured: identity.scopes, a user-token route's
// scopes, upstream.tokens (an app-token route's scopes are the application's own, never delegated);
// `claims` must parse as a JSON object of at most MAX_CLAIMS characters (an OIDC claims request, as a
// Conditional Access challenge carries it). A parameter given twice is refused. Anything else would
// reach the provider (and MSAL, which throws on bad claims) and the login cookie: a 400 instead, with a
// short message that does not echo the value.
import type { Config } from '../config/schema.js';
import { BadRequestError } from '../errors.js';

export const MAX_CLAIMS = 1024;

/** The scopes a sign-in may request: computed once at start. */
export function configuredScopes(config: Config): ReadonlySet<string> {
  return new Set([
    ...config.identity.scopes,
    ...config.routes.filter((r) => r.token === 'user').flatMap((r) => r.scopes),
    ...config.upstream.tokens,
  ]);
}

/** Throws a 400 unless `claims` is a JSON object within MAX_CLAIMS characters. */
export function checkClaims(claims: string): void {
  if (claims.length > MAX_CLAIMS) throw new BadRequestError(`claims: longer than ${MAX_CLAIMS} characters`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(claims);
  } catch {
    throw new BadRequestError('claims: not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new BadRequestError('claims: not a JSON object');
}

/** The login endpoint's query, checked: the return target (checked later), scopes, claims. */
export function loginParams(
  query: Record<string, unknown>,
  known: ReadonlySet<string>,
): { returnTo: string; scopes: string[]; claims?: string } {
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined || typeof v === 'string') return v;
    throw new BadRequestError(`${name}: given more than once`);
  };
  const returnTo = one('post_login_redirect_uri') ?? one('returnTo') ?? '/';
  const scopes = one('scopes')?.split(' ').filter(Boolean) ?? [];
  if (!scopes.every((s) => known.has(s)))
    throw new BadRequestError('scopes: not configured for this application');
  const claims = one('claims');
  if (claims) checkClaims(claims);
  return { returnTo, scopes, ...(claims ? { claims } : {}) };
}
