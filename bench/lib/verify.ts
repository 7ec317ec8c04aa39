// Checks before any load: the exact request wrk will send gets 200 with the backend's body, through the right path.
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import type { TestIdp } from '../../lab/idp.js';
import { API_AUDIENCE, API_SCOPE, COOKIE } from './authward.js';

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers, redirect: 'manual' });
  return { status: res.status, body: await res.text() };
}

/** wrk's request (only the given headers) answers 200 with exactly the backend's body. */
export async function expectBody(url: string, body: string, headers: Record<string, string> = {}) {
  const r = await get(url, headers);
  if (r.status !== 200 || r.body !== body) {
    throw new Error(
      `GET ${url}: ${r.status}, ${r.body === body ? 'same' : 'other'} body: ${r.body.slice(0, 200)}`,
    );
  }
}

/** Without the cookie, or with one character of it changed, the request must not reach the backend. */
export async function expectRefused(url: string, cookieLine: string) {
  const eq = cookieLine.indexOf('=');
  const value = cookieLine.slice(eq + 1);
  const i = Math.floor(value.length / 3);
  const flipped = `${cookieLine.slice(0, eq + 1)}${value.slice(0, i)}${value[i] === 'A' ? 'B' : 'A'}${value.slice(i + 1)}`;
  for (const [what, headers] of [
    ['no cookie', {}],
    ['a tampered cookie', { cookie: flipped }],
  ] as const) {
    const r = await get(url, headers);
    if (r.status === 200) throw new Error(`GET ${url} with ${what} answered 200: the session check is off`);
  }
}

/** What the backend received through the default upstream: identity headers, not authward's cookie. */
export async function expectIdentity(url: string, cookieLine: string, login: string) {
  const r = await get(`${url}/_bench/headers`, { cookie: cookieLine });
  if (r.status !== 200) throw new Error(`GET ${url}/_bench/headers: ${r.status}`);
  const { headers } = JSON.parse(r.body) as { headers: Record<string, string> };
  if (headers['x-forwarded-user'] !== login)
    throw new Error(`backend saw x-forwarded-user=${headers['x-forwarded-user']}, expected ${login}`);
  if ((headers.cookie ?? '').includes(`${COOKIE}=`))
    throw new Error("authward's session cookie reached the backend");
}

/** The route injected `Authorization: Bearer <JWT>` for the user: signature, issuer, audience, scope checked. */
export async function expectBearer(idp: TestIdp, routeUrl: string, cookieLine: string, login: string) {
  const r = await get(`${routeUrl}/_bench/headers`, { cookie: cookieLine });
  if (r.status !== 200)
    throw new Error(`GET ${routeUrl}/_bench/headers: ${r.status} ${r.body.slice(0, 200)}`);
  const { headers } = JSON.parse(r.body) as { headers: Record<string, string> };
  const token = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1];
  if (!token)
    throw new Error(`backend got no bearer token (authorization: ${headers.authorization ?? 'none'})`);
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri), {
    [customFetch]: (u: string, init: RequestInit) => idp.fetch(u, { method: init.method ?? 'GET' }),
  });
  const { payload } = await jwtVerify(token, jwks, { issuer: idp.issuer, audience: API_AUDIENCE });
  const scopes = String(payload.scope ?? payload.scp ?? '').split(' ');
  if (!scopes.includes(API_SCOPE)) throw new Error(`bearer token lacks ${API_SCOPE}: ${scopes.join(' ')}`);
  if (payload.sub !== login) throw new Error(`bearer token is for ${payload.sub}, expected ${login}`);
  if ((headers.cookie ?? '').includes(`${COOKIE}=`))
    throw new Error("authward's session cookie reached the API");
}
