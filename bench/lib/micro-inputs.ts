// Inputs for the micro-benchmarks, shaped like the real thing: wrk's request headers, a JWT, an MSAL cache partition.
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An RS256-sized JWT (not signed: nothing verifies it here). */
export function fakeJwt(): string {
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    iss: 'https://127.0.0.1:8443',
    sub: 'bench-user',
    aud: 'api://bench',
    scope: 'api://bench/read',
    iat: now,
    exp: now + 3600,
    jti: randomBytes(16).toString('base64url'),
    client_id: 'authward-secret',
  };
  return `${b64({ alg: 'RS256', typ: 'at+jwt', kid: 'idp-rs256-1' })}.${b64(payload)}.${randomBytes(256).toString('base64url')}`;
}

/** The request headers wrk sends (plus the session cookie). */
export function wrkHeaders(cookie: string): IncomingHttpHeaders & { cookie: string } {
  return { host: '127.0.0.1:8080', cookie };
}

/** An MSAL token cache partition as TokenCache.serialize() writes it: account, ID, access and refresh token. */
export function msalPartition(homeAccountId: string, accessToken: string, idToken = accessToken): string {
  const env = '127.0.0.1:8443';
  const realm = '';
  const clientId = 'authward-secret';
  const now = Math.floor(Date.now() / 1000);
  const target = 'api://bench/read openid profile offline_access';
  const base = { home_account_id: homeAccountId, environment: env, client_id: clientId };
  return JSON.stringify({
    Account: {
      [`${homeAccountId}-${env}-${realm}`]: {
        home_account_id: homeAccountId,
        environment: env,
        realm,
        local_account_id: 'bench-user',
        username: 'bench-user@test.invalid',
        authority_type: 'Generic',
        name: 'Test user bench-user',
      },
    },
    IdToken: {
      [`${homeAccountId}-${env}-idtoken-${clientId}-${realm}---`]: {
        ...base,
        credential_type: 'IdToken',
        secret: idToken,
        realm,
      },
    },
    AccessToken: {
      [`${homeAccountId}-${env}-accesstoken-${clientId}-${realm}-${target}--`]: {
        ...base,
        credential_type: 'AccessToken',
        secret: accessToken,
        realm,
        target,
        cached_at: String(now),
        expires_on: String(now + 3600),
        extended_expires_on: String(now + 3600),
        token_type: 'Bearer',
      },
    },
    RefreshToken: {
      [`${homeAccountId}-${env}-refreshtoken-${clientId}----`]: {
        ...base,
        credential_type: 'RefreshToken',
        secret: randomBytes(32).toString('base64url'),
      },
    },
    AppMetadata: { [`appmetadata-${env}-${clientId}`]: { client_id: clientId, environment: env } },
  });
}
