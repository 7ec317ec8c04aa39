// One account's MSAL cache partition (serialized JSON): MSAL's view of it, its fresh tokens, its repair.
//
// The one place that reads MSAL's cache format, whatever the issuer's shape. Rules enforced:
// - MSAL sees exactly one partition per client (the plugin below): it starts from that account's JSON
//   (nothing at sign-in) and its writes are captured for that account only;
// - a fresh access token is found by account, scopes and resource only: MSAL's own lookup also keys
//   by realm, which it derives inconsistently for issuers with 2+ path segments and no tid/tfp/acr
//   claim (stored under the first path segment, looked up under the last), so every lookup missed;
// - "fresh" means before the renewal point: expiry minus min(300 s, renewWindow x lifetime, at least
//   5 s or half the life), or the provider's refresh_in if earlier; a 60 s token is reused for 54 s;
// - a token that is not a well-formed bearer token (RFC 6750 b64token) is never served;
// - entries filed under another home_account_id (MSAL uses "" for a refresh response with neither
//   id_token nor client_info) belong to the partition's account: a partition holds one account.
import type { ICachePlugin } from '@azure/msal-node';

const MSAL_RENEWAL_S = 300; // MSAL's fixed renewal window, the most we ever use
const MIN_WINDOW_S = 5;
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
const BEARER = /^[A-Za-z0-9\-._~+/]+=*$/;

/** A bearer token that can be sent as `Authorization: Bearer <token>` (RFC 6750 b64token). */
export const wellFormedToken = (token: unknown): token is string =>
  typeof token === 'string' && BEARER.test(token);

/**
 * Epoch ms at which a token is renewed instead of reused. All times in seconds, as MSAL stores them.
 * share 1 is exactly MSAL's fixed window (a token living 300 s or less is always due).
 */
export function renewalPoint(cachedAt: number, expiresOn: number, share: number, refreshOn?: number): number {
  const lifetime = Math.max(0, expiresOn - cachedAt);
  // At least 5 s (half of a shorter life): the token must still be valid when the API checks it.
  const floor = Math.min(MIN_WINDOW_S, lifetime / 2);
  const window = share >= 1 ? MSAL_RENEWAL_S : Math.min(MSAL_RENEWAL_S, Math.max(floor, share * lifetime));
  const at = expiresOn - window;
  return (refreshOn && refreshOn < at ? refreshOn : at) * 1000;
}

export interface FreshToken {
  accessToken: string;
  /** Epoch ms. */
  expiresOn: number;
  /** Epoch ms: when this token stops being served. */
  renewAt: number;
}

interface AccessTokenEntry {
  home_account_id?: string;
  credential_type?: string;
  token_type?: string;
  secret?: string;
  target?: string;
  resource?: string;
  cached_at?: string;
  expires_on?: string;
  refresh_on?: string;
}

/** The freshest usable access token of the account for these scopes (and resource), if any is before renewal. */
export function freshToken(
  json: string,
  homeAccountId: string,
  scopes: readonly string[],
  resource: string | undefined,
  share: number,
  now = Date.now(),
): FreshToken | undefined {
  let cache: { AccessToken?: Record<string, AccessTokenEntry> };
  try {
    cache = JSON.parse(json);
  } catch {
    return undefined;
  }
  const wanted = scopes.map((s) => s.toLowerCase()).filter((s) => !OIDC_SCOPES.has(s));
  let best: FreshToken | undefined;
  for (const at of Object.values(cache.AccessToken ?? {})) {
    if (at.home_account_id !== homeAccountId || (at.resource || undefined) !== resource) continue;
    if (at.token_type && at.token_type.toLowerCase() !== 'bearer') continue;
    const expiresOn = Number(at.expires_on);
    const renewAt = renewalPoint(Number(at.cached_at), expiresOn, share, Number(at.refresh_on) || undefined);
    if (!(renewAt > now) || !wellFormedToken(at.secret)) continue;
    const target = new Set((at.target ?? '').toLowerCase().split(' '));
    if (!wanted.every((s) => target.has(s))) continue;
    if (!best || expiresOn * 1000 > best.expiresOn)
      best = { accessToken: at.secret, expiresOn: expiresOn * 1000, renewAt };
  }
  return best;
}

const SECTIONS = ['AccessToken', 'RefreshToken', 'IdToken'] as const;

/** The account's ID token and refresh token as the partition holds them (the newest ID token). */
export interface CachedSecrets {
  idToken?: string;
  refreshToken?: string;
}

export function cachedSecrets(json: string, homeAccountId: string): CachedSecrets {
  type Entry = { home_account_id?: string; secret?: string; cached_at?: string };
  let cache: Partial<Record<(typeof SECTIONS)[number], Record<string, Entry>>>;
  try {
    cache = JSON.parse(json);
  } catch {
    return {};
  }
  const newest = (section: Record<string, Entry> | undefined) =>
    Object.values(section ?? {})
      .filter((e) => e.home_account_id === homeAccountId && typeof e.secret === 'string' && e.secret)
      .sort((a, b) => Number(b.cached_at ?? 0) - Number(a.cached_at ?? 0))[0]?.secret;
  const idToken = newest(cache.IdToken);
  const refreshToken = newest(cache.RefreshToken);
  return { ...(idToken ? { idToken } : {}), ...(refreshToken ? { refreshToken } : {}) };
}

/**
 * Files every credential of the partition under its account: an entry MSAL stored under another
 * home_account_id moves (entity and key), replacing the account's entry under the same key, which
 * is the older one (a rotated refresh token, a renewed access token). Unchanged input is returned as is.
 */
export function adoptOrphans(json: string, homeAccountId: string): string {
  let cache: Record<string, Record<string, { home_account_id?: string }> | undefined>;
  try {
    cache = JSON.parse(json);
  } catch {
    return json;
  }
  const owner = homeAccountId.toLowerCase();
  let moved = false;
  for (const section of SECTIONS) {
    const entries = cache[section];
    if (!entries) continue;
    for (const [key, entry] of Object.entries(entries)) {
      const from = (entry.home_account_id ?? '').toLowerCase();
      // MSAL's credential keys start with the lowercased home_account_id, then "-".
      if (entry.home_account_id === homeAccountId || !key.startsWith(`${from}-`)) continue;
      delete entries[key];
      entries[`${owner}${key.slice(from.length)}`] = { ...entry, home_account_id: homeAccountId };
      moved = true;
    }
  }
  return moved ? JSON.stringify(cache) : json;
}

/** MSAL's cache for one client: starts from `json` (nothing at sign-in), hands every change to `save`. */
export function partitionPlugin(json: string | undefined, save: (json: string) => void): ICachePlugin {
  return {
    beforeCacheAccess: async (ctx) => {
      if (json !== undefined) ctx.tokenCache.deserialize(json);
    },
    afterCacheAccess: async (ctx) => {
      if (ctx.cacheHasChanged) save(ctx.tokenCache.serialize());
    },
  };
}
