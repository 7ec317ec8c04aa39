// The identity provider hanging or down at the callback (503, no session) and during a silent refresh (503, session kept).
//
// Every provider call has its own timeout (identity.timeout): a hanging provider costs a request at
// most that, never a hang or a 500. MSAL needs the authority's host:port to equal the issuer, so the
// faults are the real provider's own: a response delay longer than the timeout, or its listener closed.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { startApp } from '../helpers/app.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';

const TIMEOUT_S = 2;
const XHR = { accept: 'application/json', 'sec-fetch-mode': 'cors' };

// 300 s access tokens with tokenCache.renewWindow 1 (MSAL's fixed 300 s): every acquisition goes to the provider.
const idp = await startIdp({ apiScopes: ['api://orders/read'], accessTokenTTL: 300 });
t.teardown(() => idp.close());
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const orders = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
t.teardown(() => orders.close());
const aw = await startApp({
  idp,
  upstreamUrl: upstream.url,
  overrides: {
    identity: { timeout: TIMEOUT_S },
    tokenCache: { renewWindow: 1 },
    routes: [{ name: 'orders', path: '/api/orders', target: orders.url, scopes: ['api://orders/read'] }],
  },
});
t.teardown(() => aw.close());
const CALLBACK = `${aw.url}/.auth/login/aad/callback`;

/** A browser that runs `fault` just before it requests the callback (after the provider's redirect). */
function browserWithFaultAtCallback(fault: () => Promise<void> | void) {
  const browser = new Browser({ ca: idp.caPem });
  const fetch = browser.fetch.bind(browser);
  let faulted = false;
  let callbackMs = 0;
  browser.fetch = async (url, init) => {
    if (!url.startsWith(CALLBACK)) return fetch(url, init);
    if (!faulted) {
      faulted = true;
      await fault();
    }
    const started = performance.now();
    try {
      return await fetch(url, init);
    } finally {
      callbackMs = performance.now() - started;
    }
  };
  return { browser, callbackMs: () => callbackMs };
}

async function expectNoSession(t: Tap, browser: Browser) {
  t.notOk(browser.cookie(aw.url, 'authward'), 'no session cookie');
  const me = await browser.fetch(`${aw.url}/.auth/me`, { headers: XHR });
  t.equal(me.status, 401, '/.auth/me: not signed in');
  await me.arrayBuffer();
}
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

t.test('callback: provider hanging → 503 page within identity.timeout, no session', async (t) => {
  const b = browserWithFaultAtCallback(() => idp.setResponseDelay(30_000));
  t.teardown(() => b.browser.close());
  t.teardown(() => idp.setResponseDelay(0));
  const page = await signIn(b.browser, `${aw.url}/deep/link`, { login: 'cora' });
  idp.setResponseDelay(0);
  t.ok(page.url.startsWith(CALLBACK), 'the browser stopped at the callback');
  t.equal(page.status, 503, 'service unavailable, not 500');
  t.match(page.response.headers.get('content-type'), /text\/html/, 'a page for the browser');
  t.match(page.body, /identity provider unavailable/);
  t.ok(
    b.callbackMs() >= TIMEOUT_S * 1000 * 0.9 && b.callbackMs() < TIMEOUT_S * 1000 + 2000,
    `answered after ${Math.round(b.callbackMs())} ms (timeout ${TIMEOUT_S} s)`,
  );
  await expectNoSession(t, b.browser);
  const again = await signIn(b.browser, `${aw.url}/deep/link`, { login: 'cora' });
  t.equal(again.status, 200, 'provider back: signing in again works');
  t.equal(again.url, `${aw.url}/deep/link`);
});

t.test('callback: provider down → 503 page at once, no session', async (t) => {
  const b = browserWithFaultAtCallback(() => idp.stop());
  t.teardown(() => b.browser.close());
  t.teardown(() => idp.start());
  const page = await signIn(b.browser, `${aw.url}/`, { login: 'dora' });
  const authorizeBefore = idp.counters.authorize;
  t.equal(page.status, 503);
  t.match(page.body, /identity provider unavailable/);
  t.ok(b.callbackMs() < 1500, `answered in ${Math.round(b.callbackMs())} ms`);
  await expectNoSession(t, b.browser);
  await idp.start();
  // The code was never redeemed: reloading the callback page completes the same sign-in.
  const reload = await b.browser.navigate(page.url);
  t.equal(reload.status, 200, 'provider back: reloading the callback page signs in');
  t.equal(reload.url, `${aw.url}/`, 'and lands where the sign-in started');
  t.equal(idp.counters.authorize, authorizeBefore, 'without another visit to the provider');
  t.equal((await signIn(b.browser, `${aw.url}/`, { login: 'dora' })).status, 200, 'provider back: works');
});

t.test(
  'silent refresh: provider hanging or down → 503 JSON within identity.timeout, session kept',
  async (t) => {
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    t.equal((await signIn(browser, `${aw.url}/`, { login: 'ezra' })).status, 200, 'signed in');
    const call = async (n: number) => {
      const started = performance.now();
      const res = await browser.fetch(`${aw.url}/api/orders/${n}`, { headers: XHR });
      const body = (await res.json()) as Record<string, unknown>;
      return { status: res.status, body, ms: performance.now() - started };
    };
    t.equal((await call(1)).status, 200, 'the route works');
    const authorize = idp.counters.authorize;

    await sleep(1100); // past the single-flight window: the next call refreshes
    idp.setResponseDelay(30_000);
    t.teardown(() => idp.setResponseDelay(0));
    const hanging = await call(2);
    idp.setResponseDelay(0);
    t.equal(hanging.status, 503);
    t.match(hanging.body, { error: 'provider_unavailable' });
    t.ok(
      hanging.ms >= TIMEOUT_S * 1000 * 0.9 && hanging.ms < TIMEOUT_S * 1000 + 2000,
      `hanging: answered after ${Math.round(hanging.ms)} ms (timeout ${TIMEOUT_S} s)`,
    );

    await idp.stop();
    t.teardown(() => idp.start());
    const down = await call(3);
    t.equal(down.status, 503);
    t.match(down.body, { error: 'provider_unavailable' });
    t.ok(down.ms < 1500, `down: answered in ${Math.round(down.ms)} ms`);
    t.equal((await browser.fetch(`${aw.url}/.auth/me`)).status, 200, 'the session is kept');
    await idp.start();

    const back = await call(4);
    t.equal(back.status, 200, 'provider back: the same session gets its token');
    t.equal(idp.counters.authorize, authorize, 'without signing in again');
  },
);
