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
  await routeToken(idp, routeUrl, { cookie: cookieLine }, login);
}

/** The token the backend got on a bearer route (see expectBearer) for a request with these headers. */
async function routeToken(
  idp: TestIdp,
  routeUrl: string,
  sent: Record<string, string>,
  login: string,
): Promise<string> {
  const r = await get(`${routeUrl}/_bench/headers`, sent);
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
  return token;
}

/** The bearer token with one signature character changed. */
const tampered = (token: string) => {
  const i = token.length - 10;
  return `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
};

/** An API client's request without its token, or with a forged one, must not reach the backend (401). */
export async function expectBearerRefused(url: string, token: string) {
  for (const [what, headers] of [
    ['no token', { accept: 'application/json' }],
    ['a tampered token', { authorization: `Bearer ${tampered(token)}` }],
  ] as const) {
    const r = await get(url, headers);
    if (r.status !== 401) throw new Error(`GET ${url} with ${what}: ${r.status}, expected 401`);
  }
}

/** Default upstream, API client: the user's identity headers, and the caller's own token passed on as is. */
export async function expectApiIdentity(url: string, token: string, login: string) {
  const r = await get(`${url}/_bench/headers`, { authorization: `Bearer ${token}` });
  if (r.status !== 200) throw new Error(`GET ${url}/_bench/headers: ${r.status} ${r.body.slice(0, 200)}`);
  const { headers } = JSON.parse(r.body) as { headers: Record<string, string> };
  if (headers['x-forwarded-user'] !== login)
    throw new Error(`backend saw x-forwarded-user=${headers['x-forwarded-user']}, expected ${login}`);
  if (!headers['x-ms-client-principal']) throw new Error('backend saw no X-MS-CLIENT-PRINCIPAL');
  if (headers.authorization !== `Bearer ${token}`)
    throw new Error("the default upstream did not get the caller's own token unchanged");
}

/**
 * Bearer route, API client: the backend got a token acquired on behalf of the caller (not the caller's
 * own: audience api://bench, scope, the same user), and a repeat was served from the cache: the IdP's
 * grant counter (OBO / token exchange) did not move.
 */
export async function expectOnBehalfOf(
  idp: TestIdp,
  served: () => number,
  routeUrl: string,
  token: string,
  login: string,
) {
  const sent = { authorization: `Bearer ${token}` };
  const first = await routeToken(idp, routeUrl, sent, login);
  if (first === token) throw new Error("the caller's own token reached the route");
  const grants = served();
  if (grants < 1) throw new Error('no on-behalf-of grant was served by the IdP');
  const again = await routeToken(idp, routeUrl, sent, login);
  if (served() !== grants || again !== first)
    throw new Error('a repeated call was not served from the on-behalf-of cache');
}

/**
 * Through nginx (forward auth): the backend saw the identity headers authward answered nginx's subrequest
 * with; a client's forged identity header gets nowhere, with or without the cookie (verify refuses it).
 */
export async function expectForwardedIdentity(url: string, cookieLine: string, login: string) {
  const spoof = { 'x-forwarded-user': 'mallory', 'x-ms-client-principal-name': 'mallory' };
  for (const headers of [spoof, { cookie: cookieLine, ...spoof }]) {
    const denied = await get(`${url}/_bench/headers`, headers);
    if (denied.status === 200)
      throw new Error(`GET ${url}/_bench/headers with forged identity headers answered 200`);
  }
  const r = await get(`${url}/_bench/headers`, { cookie: cookieLine });
  if (r.status !== 200) throw new Error(`GET ${url}/_bench/headers: ${r.status}`);
  const { headers } = JSON.parse(r.body) as { headers: Record<string, string> };
  if (headers['x-forwarded-user'] !== login)
    throw new Error(`backend saw x-forwarded-user=${headers['x-forwarded-user']}, expected ${login}`);
}
