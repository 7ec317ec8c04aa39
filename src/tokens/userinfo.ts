// Claims from the provider's UserInfo endpoint, at sign-in, when the ID token carries none of them.
//
// A conforming provider that issues an access token may return the `profile`/`email` claims only at
// UserInfo (OpenID Core 5.4). Enforced: called only when the ID token has no name, username, UPN or
// email, and only with the sign-in's access token; its `sub` must equal the ID token's (Core 5.3.2),
// else the sign-in is refused; its values never replace the ID token's; only display and name claims
// are taken (never groups, roles, tenant or ids). UserInfo unavailable (no endpoint, the token is for
// an API, an outage): the sign-in goes on without them (identity then falls back to the stable id).
import type { JWTPayload } from 'jose';
import { describeCause } from './discovery.js';
import type { Provider } from './provider.js';

export class UserInfoError extends Error {
  constructor(readonly reason: string) {
    super(`UserInfo rejected: ${reason}`);
    this.name = 'UserInfoError';
  }
}

const NAMES = ['name', 'preferred_username', 'upn'] as const;

const lacksProfileClaims = (p: JWTPayload) =>
  [...NAMES, 'email'].every((k) => typeof p[k] !== 'string' || p[k] === '');

export async function withUserInfo(
  provider: Provider,
  payload: JWTPayload,
  accessToken: string,
  log: { warn(obj: object, msg: string): void },
): Promise<JWTPayload> {
  const endpoint = provider.discovery?.userinfo_endpoint;
  if (!lacksProfileClaims(payload) || typeof endpoint !== 'string' || !accessToken) return payload;
  let info: Record<string, unknown>;
  try {
    const res = await provider.http.fetch(endpoint, {
      headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
    });
    const type = res.headers.get('content-type') ?? '';
    if (!res.ok || !/json/i.test(type)) {
      await res.body?.cancel();
      log.warn(
        { event: 'userinfo_unavailable' },
        `UserInfo answered HTTP ${res.status} (${type.split(';')[0] || 'no type'}): signed in without name, username or email`,
      );
      return payload;
    }
    info = (await res.json()) as Record<string, unknown>;
  } catch (err) {
    log.warn(
      { event: 'userinfo_unavailable' },
      `UserInfo failed (${describeCause(err)}): signed in without name, username or email`,
    );
    return payload;
  }
  if (typeof info !== 'object' || info === null || info.sub !== payload.sub) {
    throw new UserInfoError("userinfo sub differs from the ID token's");
  }
  const merged: JWTPayload = { ...payload };
  for (const k of NAMES) if (typeof info[k] === 'string') merged[k] = info[k];
  // The email and its verification travel together: one never vouches for the other's value.
  if (typeof info.email === 'string') {
    merged.email = info.email;
    if (info.email_verified !== undefined) merged.email_verified = info.email_verified;
    else delete merged.email_verified;
  }
  return merged;
}
