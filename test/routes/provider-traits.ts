// The sign-in + refresh + token-route + dead-grant + sign-out suite, run against one provider trait at a time.
//
// Each trait is a behaviour the OpenID specs allow and some real provider shows (issue 12); the test
// IdP switches it on. The suite is the same for all: a trait breaks a step, never the suite's shape.
import type { Test } from 'tap';
import { startApi, type TestApi } from '../helpers/api.js';
import { Browser, parseForms, signIn } from '../helpers/browser.js';
import { type IdpOptions, startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp, XHR } from '../helpers/world.js';

const APIS = ['orders', 'graph', 'bench', 'extra'] as const;
type ApiName = (typeof APIS)[number];

export interface Trait {
  idp: IdpOptions;
  /** APIs whose permission does not name them: aud comes only from routes[].resource. */
  resources?: boolean;
}

export const TRAITS: Record<string, Trait> = {
  baseline: { idp: {} },
  'issuer with a multi-segment path': { idp: { issuerPath: '/realms/main' } },
  'rotating refresh tokens, refresh responses without id_token/client_info': {
    idp: { rotateRefreshToken: true, refreshWithoutIdToken: true },
  },
  'refusals without an OAuth error body': { idp: { refreshErrorBody: 'empty' } },
  'aud from resource': { idp: {}, resources: true },
  'short token lifetimes (60 s)': { idp: { accessTokenTTL: 60 } },
  'client_secret_basic only': { idp: { clientAuthMethods: ['client_secret_basic', 'private_key_jwt'] } },
  'post_logout_redirect_uri only with state': { idp: { postLogoutNeedsState: true } },
  'claims only at UserInfo': { idp: { claimsInIdToken: false } },
  'aad mode, rotating, id_token-less refresh': {
    idp: { mode: 'aad', rotateRefreshToken: true, refreshWithoutIdToken: true },
  },
};

const scopeOf = (api: ApiName, resources: boolean) => (resources ? `${api}.read` : `api://${api}/read`);
const audienceOf = (api: ApiName, resources: boolean) =>
  resources ? `https://${api}.example` : `api://${api}`;

export async function runTrait(t: Test, name: string, trait: Trait): Promise<void> {
  const r = trait.resources === true;
  const idp = await startIdp({
    ...trait.idp,
    ...(r
      ? {
          apiScopes: ['api://unused/read'],
          resourceScopes: Object.fromEntries(APIS.map((a) => [scopeOf(a, true), audienceOf(a, true)])),
        }
      : { apiScopes: APIS.map((a) => scopeOf(a, false)) }),
  });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const apis = {} as Record<ApiName, TestApi>;
  for (const api of APIS) {
    apis[api] = await startApi(idp, { audience: audienceOf(api, r), scope: scopeOf(api, r) });
    t.teardown(() => apis[api].close());
  }
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      // A 1 ms L1: every acquisition reads the account's partition, where the traits bite.
      tokenCache: { l1Ttl: 0.001 },
      routes: APIS.map((api) => ({
        name: api,
        path: `/api/${api}`,
        target: apis[api].url,
        scopes: [scopeOf(api, r)],
        ...(r ? { resource: audienceOf(api, true) } : {}),
      })),
    },
  });
  t.teardown(() => aw.close());
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  const call = async (api: ApiName, n: number) => {
    const res = await browser.fetch(`${aw.url}/api/${api}/${n}`, { headers: XHR });
    const body = (await res.json()) as Record<string, unknown>;
    return { status: res.status, body, got: apis[api].requests.at(-1) };
  };

  // Sign-in and identity.
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'tia' })).status, 200, `${name}: signed in`);
  const me = await browser.fetch(`${aw.url}/.auth/me`);
  t.equal(me.status, 200, '/.auth/me');
  const [entry] = (await me.json()) as { user_claims: { typ: string; val: string }[] }[];
  t.ok(
    entry?.user_claims.some((c) => c.val === 'Test user tia'),
    'the name reached the principal (ID token or UserInfo)',
  );

  // Token routes: the first tokens (one from the code, the others refreshes, rotated or not).
  const refreshes = idp.counters.refreshToken;
  for (const [i, api] of (['orders', 'graph', 'bench'] as const).entries()) {
    const res = await call(api, i);
    t.equal(res.status, 200, `${api}: 200`);
    t.equal(res.got?.refused, undefined, `${api}: the API verified the token`);
    t.equal(res.got?.claims?.aud, audienceOf(api, r), `${api}: its audience`);
    t.equal(res.got?.claims?.sub, 'tia');
  }
  t.ok(idp.counters.refreshToken - refreshes >= 2, 'refreshes happened');
  const minted = idp.counters.refreshToken;
  for (const api of ['orders', 'graph', 'bench'] as const) {
    t.equal((await call(api, 9)).status, 200, `${api} again`);
  }
  t.equal(idp.counters.refreshToken, minted, 'fresh tokens reused: no provider call');
  t.equal(idp.counters.tokenErrors, 0, 'no token request refused');

  // A dead grant: the next refresh is refused, the session ends (XHR: 401), signing in again works.
  t.ok((await idp.revokeRefreshTokens('tia')) > 0, 'grant revoked at the provider');
  const dead = await call('extra', 1);
  t.equal(dead.status, 401, 'dead grant: 401');
  t.equal(dead.body.error, 'unauthenticated', 'sign in again');
  t.equal(apis.extra.requests.length, 0, 'no call reached the API (no empty bearer token)');
  t.equal((await signIn(browser, `${aw.url}/api/extra/2`, { login: 'tia' })).status, 200, 'signed in again');
  t.equal(apis.extra.requests.at(-1)?.claims?.aud, audienceOf('extra', r), 'and the route works');

  // Sign-out, through the provider and back.
  const out = await browser.fetch(`${aw.url}/.auth/logout?post_logout_redirect_uri=%2Fbye`, {
    method: 'POST',
    headers: { origin: aw.url },
  });
  await out.arrayBuffer();
  t.equal(out.status, 302, 'sign-out redirects to the provider');
  const end = new URL(out.headers.get('location') as string);
  t.equal(`${end.origin}${end.pathname}`, idp.discovery.end_session_endpoint);
  const confirm = await browser.navigate(end.href, { initiator: aw.url });
  const [form] = parseForms(confirm.body, confirm.url);
  t.ok(form, "the provider's sign-out form");
  if (form) {
    const done = await browser.submitForm(form, confirm.url, { logout: 'yes' });
    t.ok(done.hops.includes(`${aw.url}/bye`), 'back on the app');
  }
  t.equal((await browser.fetch(`${aw.url}/.auth/me`)).status, 401, 'signed out');
}
