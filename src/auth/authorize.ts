// Authorization rules: allowed tenants, users, groups, roles; global and per path prefix (longest wins).
//
// allowedUsers matches stable ids (`oid`, `sub`) or names the provider vouches for (`preferred_username`,
// `upn`, a verified `email`), never the free-text `name`.
//
// Every rule present must pass (global AND the path's). Within a rule, one matching value suffices.
// A rule naming a claim the user lacks denies (fail closed). Path prefixes match case-insensitively,
// so a case-insensitive upstream (IIS) cannot be reached around a rule.

import { trimSlash, underPrefix } from '../config/paths.js';
import type { AuthorizationRule, Config } from '../config/schema.js';
import type { Claims } from './claims.js';

type Check = (claims: Claims) => boolean;

function compile(rule: AuthorizationRule): Check | null {
  const checks: Check[] = [];
  const anyOf = (values: string[] | undefined, read: (c: Claims) => string[], fold = false) => {
    if (!values) return;
    const wanted = new Set(values.map((v) => (fold ? v.toLowerCase() : v)));
    checks.push((c) => read(c).some((v) => wanted.has(fold ? v.toLowerCase() : v)));
  };
  anyOf(rule.allowedTenants, (c) => (c.tid ? [c.tid] : []), true);
  if (rule.allowedUsers) {
    // Stable ids, or names the provider vouches for (claimsFromIdToken has already dropped an
    // unverified email); never `name`. `sub` is compared exactly: some providers' ids are case-sensitive.
    const exact = new Set(rule.allowedUsers);
    const folded = new Set(rule.allowedUsers.map((v) => v.toLowerCase()));
    checks.push(
      (c) =>
        exact.has(c.sub) ||
        [c.oid, c.preferred_username, c.upn, c.email].some(
          (v) => v !== undefined && folded.has(v.toLowerCase()),
        ),
    );
  }
  anyOf(rule.requiredGroups, (c) => c.groups ?? []);
  anyOf(rule.requiredRoles, (c) => c.roles ?? []);
  return checks.length === 0 ? null : (c) => checks.every((check) => check(c));
}

export type Authorizer = ((claims: Claims, path: string) => boolean) | null;

/** null when nothing is configured: the per-request cost is then zero. */
export function authorizer(cfg: Config['authorization']): Authorizer {
  const global = compile(cfg);
  const paths = cfg.paths
    .map((p) => ({ prefix: trimSlash(p.prefix).toLowerCase(), check: compile(p) }))
    .filter((p): p is { prefix: string; check: Check } => p.check !== null)
    .sort((a, b) => b.prefix.length - a.prefix.length);
  if (!global && paths.length === 0) return null;
  return (claims, path) => {
    if (global && !global(claims)) return false;
    const lower = path.toLowerCase();
    const rule = paths.find((p) => underPrefix(lower, p.prefix));
    return !rule || rule.check(claims);
  };
}
