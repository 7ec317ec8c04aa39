// The user's claims kept server-side, and the identity headers derived from them once per session record.
import type { Config } from '../config/schema.js';
import { type Claims, userId } from '../session/identity.js';

// Claims, userId and userHash live with the session records (session/identity.ts): the same names here.
export { type Claims, userHash, userId } from '../session/identity.js';

const claimString = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
const strs = (v: unknown) =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;

/**
 * Whether the provider vouches for the `email` claim. Generic providers: only with `email_verified:
 * true` (anyone can type any address into a profile). Entra sends no `email_verified`; since 2023 it
 * leaves out an email whose domain the tenant does not own, so there its email counts unless the token
 * says `email_verified: false` or `xms_edov: false`.
 */
function emailVerified(p: Record<string, unknown>, protocol: Config['identity']['protocol']): boolean {
  const v = p.email_verified;
  if (v === true || v === 'true') return true; // (some providers send the string)
  // Entra's optional `xms_edov` (email domain owner verified) false: the same as unverified.
  return protocol === 'aad' && v !== false && v !== 'false' && p.xms_edov !== false;
}

/**
 * The claims kept for a session. An unverified `email` is dropped here, so no header, rule or
 * `/.auth/me` answer can ever use it; `name` is kept as a display claim but is never an identifier.
 */
export function claimsFromIdToken(
  p: Record<string, unknown>,
  protocol: Config['identity']['protocol'],
): Claims {
  const c: Claims = { sub: String(p.sub), iss: String(p.iss) };
  for (const k of ['oid', 'tid', 'name', 'preferred_username', 'upn'] as const) {
    const v = claimString(p[k]);
    if (v) c[k] = v;
  }
  const email = claimString(p.email);
  if (email && emailVerified(p, protocol)) c.email = email;
  const groups = strs(p.groups);
  if (groups) c.groups = groups;
  const roles = strs(p.roles);
  if (roles) c.roles = roles;
  return c;
}

/**
 * The user's name as the provider vouches for it: username or UPN first (Entra's login name), then a
 * verified email, else the stable id. Never `name`: free text the user picks.
 */
export const principalName = (c: Claims) => c.preferred_username ?? c.upn ?? c.email ?? userId(c);

/**
 * Header values are ASCII: any byte outside printable ASCII, and "%", is percent-encoded (UTF-8),
 * so CR/LF in a claim can never split a header and a receiver always percent-decodes.
 */
export function headerValue(v: string): string {
  return /[^\u0020-\u0024\u0026-\u007e]/.test(v)
    ? v.replace(/[^\u0020-\u0024\u0026-\u007e]+/g, encodeURIComponent)
    : v;
}

// Upstreams refuse large header blocks (Node: 16 KB in all). Past these sizes groups are left out of
// the principal (marked `hasgroups`) and X-Forwarded-Groups is omitted: the app asks Graph instead.
const MAX_PRINCIPAL = 4096;
const MAX_GROUPS = 12_288;

const principalHeader = (idp: string, claims: { typ: string; val: string }[]) =>
  Buffer.from(
    JSON.stringify({ auth_typ: idp, claims, name_typ: 'preferred_username', role_typ: 'roles' }),
    'utf8',
  ).toString('base64');

export function identityHeaders(
  c: Claims,
  families: Config['upstream']['identityHeaders'],
  idp: string,
): Record<string, string> {
  const h: Record<string, string> = {};
  const id = userId(c);
  const display = principalName(c);
  if (families.msClientPrincipal) {
    const claims: { typ: string; val: string }[] = [];
    for (const [typ, val] of Object.entries(c)) {
      if (Array.isArray(val)) for (const v of val) claims.push({ typ, val: v });
      else if (typeof val === 'string') claims.push({ typ, val });
    }
    let principal = principalHeader(idp, claims);
    if (principal.length > MAX_PRINCIPAL && c.groups?.length) {
      // Entra's own answer to too many groups: leave them out and say so (`hasgroups`).
      principal = principalHeader(idp, [
        ...claims.filter((x) => x.typ !== 'groups'),
        { typ: 'hasgroups', val: 'true' },
      ]);
    }
    h['x-ms-client-principal'] = principal;
    h['x-ms-client-principal-id'] = headerValue(id);
    h['x-ms-client-principal-name'] = headerValue(display);
    h['x-ms-client-principal-idp'] = idp;
  }
  if (families.forwarded) {
    // The claim the operator chose; absent (no username, no verified email): no header at all, so
    // an upstream never mistakes an id for a name of the kind it asked for.
    const user = families.userClaim === 'id' ? id : c[families.userClaim];
    if (user) h['x-forwarded-user'] = headerValue(user);
    if (c.email) h['x-forwarded-email'] = headerValue(c.email);
    if (c.preferred_username) h['x-forwarded-preferred-username'] = headerValue(c.preferred_username);
    const groups = c.groups?.length ? headerValue(c.groups.join(',')) : '';
    if (groups && groups.length <= MAX_GROUPS) h['x-forwarded-groups'] = groups;
  }
  return h;
}
