// The identity provider hanging or down at the callback (503, no session) and during a silent refresh (503, session kept).
//
// Every provider call has its own timeout (identity.timeout): a hanging provider costs a request at
// most that, never a hang or a 500. MSAL needs the authority's host:port to equal the issuer, so the
// faults are the real provider's own: a response delay longer than the timeout, or its listener closed.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startApp, startWorld, XHR } from '../helpers/world.js';

// The hanging tests must wait for identity.timeout, so theirs is short (TIMEOUT_S). The provider's delayed
// answer (HANG_MS) is far later: "answered after the timeout" is judged by the lower bound and by not
// having waited for that answer. The "down" tests check that nothing is waited for, so they use a second
// app with a long timeout (LONG_TIMEOUT_S): an answer inside half of it is unmistakable on a loaded machine.
const TIMEOUT_S = 2;
const HANG_MS = 60_000;
const LONG_TIMEOUT_S = 60;
const AT_ONCE_MS = (LONG_TIMEOUT_S * 1000) / 2;

// 300 s access tokens with tokenCache.renewWindow 1 (MSAL's fixed 300 s): every acquisition goes to the provider.
const aw = await startWorld(t, {
  idp: { apiScopes: ['api://orders/read'], accessTokenTTL: 300 },
  apis: { orders: { audience: 'api://orders', scope: 'api://orders/read' } },
  config: (w) => ({
    identity: { timeout: TIMEOUT_S },
    tokenCache: { renewWindow: 1 },
    routes: [
      { name: 'orders', path: '/api/orders', target: w.apis.orders.url, scopes: ['api://orders/read'] },
    ],
  }),
});
const {
  idp,
  upstream,
  apis: { orders },
} = aw;
const awLong = await startApp({
  idp,
  upstreamUrl: upstream.url,
  overrides: {
    identity: { timeout: LONG_TIMEOUT_S },
    tokenCache: { renewWindow: 1 },
    routes: [{ name: 'orders', path: '/api/orders', target: orders.url, scopes: ['api://orders/read'] }],
  },
});
t.teardown(() => awLong.close());
const callbackOf = (app: { url: string }) => `${app.url}/.auth/login/aad/callback`;

/** A browser that runs `fault` just before it requests `app`'s callback (after the provider's redirect). */
function browserWithFaultAtCallback(fault: () => Promise<void> | void, app: { url: string } = aw) {
  const CALLBACK = callbackOf(app);
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

async function expectNoSession(t: Tap, browser: Browser, app: { url: string } = aw) {
  t.notOk(browser.cookie(app.url, 'authward'), 'no session cookie');
  const me = await browser.fetch(`${app.url}/.auth/me`, { headers: XHR });
  t.equal(me.status, 401, '/.auth/me: not signed in');
  await me.arrayBuffer();
}
type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

t.test('callback: provider hanging → 503 page within identity.timeout, no session', async (t) => {
  const b = browserWithFaultAtCallback(() => idp.setResponseDelay(HANG_MS));
  t.teardown(() => b.browser.close());
  t.teardown(() => idp.setResponseDelay(0));
  const page = await signIn(b.browser, `${aw.url}/deep/link`, { login: 'cora' });
  idp.setResponseDelay(0);
  t.ok(page.url.startsWith(callbackOf(aw)), 'the browser stopped at the callback');
  t.equal(page.status, 503, 'service unavailable, not 500');
  t.match(page.response.headers.get('content-type'), /text\/html/, 'a page for the browser');
  t.match(page.body, /identity provider unavailable/);
  t.ok(
    b.callbackMs() >= TIMEOUT_S * 1000 * 0.9 && b.callbackMs() < HANG_MS / 2,
    `answered after ${Math.round(b.callbackMs())} ms (timeout ${TIMEOUT_S} s), not after the provider's answer`,
  );
  await expectNoSession(t, b.browser);
  const again = await signIn(b.browser, `${aw.url}/deep/link`, { login: 'cora' });
  t.equal(again.status, 200, 'provider back: signing in again works');
  t.equal(again.url, `${aw.url}/deep/link`);
});

t.test('callback: provider down → 503 page at once, no session', async (t) => {
  const b = browserWithFaultAtCallback(() => idp.stop(), awLong);
  t.teardown(() => b.browser.close());
  t.teardown(() => idp.start());
  const page = await signIn(b.browser, `${awLong.url}/`, { login: 'dora' });
  const authorizeBefore = idp.counters.authorize;
  t.equal(page.status, 503);
  t.match(page.body, /identity provider unavailable/);
  t.ok(
    b.callbackMs() < AT_ONCE_MS,
    `answered in ${Math.round(b.callbackMs())} ms, not after identity.timeout (${LONG_TIMEOUT_S} s)`,
  );
  await expectNoSession(t, b.browser, awLong);
  await idp.start();
  // The code was never redeemed: reloading the callback page completes the same sign-in.
  const reload = await b.browser.navigate(page.url);
  t.equal(reload.status, 200, 'provider back: reloading the callback page signs in');
  t.equal(reload.url, `${awLong.url}/`, 'and lands where the sign-in started');
  t.equal(idp.counters.authorize, authorizeBefore, 'without another visit to the provider');
  t.equal((await signIn(b.browser, `${awLong.url}/`, { login: 'dora' })).status, 200, 'provider back: works');
});

t.test(
  'silent refresh: provider hanging or down → 503 JSON within identity.timeout, session kept',
  async (t) => {
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    t.equal((await signIn(browser, `${aw.url}/`, { login: 'ezra' })).status, 200, 'signed in');
    t.equal(
      (await signIn(browser, `${awLong.url}/`, { login: 'ezra' })).status,
      200,
      'signed in (long timeout)',
    );
    const call = async (n: number, app: { url: string } = aw) => {
      const started = performance.now();
      const res = await browser.fetch(`${app.url}/api/orders/${n}`, { headers: XHR });
      const body = (await res.json()) as Record<string, unknown>;
      return { status: res.status, body, ms: performance.now() - started };
    };
    t.equal((await call(1)).status, 200, 'the route works');
    t.equal((await call(1, awLong)).status, 200, 'the route works (long timeout)');
    const authorize = idp.counters.authorize;

    await sleep(1100); // past the single-flight window: the next call refreshes
    idp.setResponseDelay(HANG_MS);
    t.teardown(() => idp.setResponseDelay(0));
    const hanging = await call(2);
    idp.setResponseDelay(0);
    t.equal(hanging.status, 503);
    t.match(hanging.body, { error: 'provider_unavailable' });
    t.ok(
      hanging.ms >= TIMEOUT_S * 1000 * 0.9 && hanging.ms < HANG_MS / 2,
      `hanging: answered after ${Math.round(hanging.ms)} ms (timeout ${TIMEOUT_S} s), not after the provider's answer`,
    );

    await idp.stop();
    t.teardown(() => idp.start());
    const down = await call(3, awLong);
    t.equal(down.status, 503);
    t.match(down.body, { error: 'provider_unavailable' });
    t.ok(
      down.ms < AT_ONCE_MS,
      `down: answered in ${Math.round(down.ms)} ms, not after identity.timeout (${LONG_TIMEOUT_S} s)`,
    );
    t.equal((await browser.fetch(`${aw.url}/.auth/me`)).status, 200, 'the session is kept');
    t.equal(
      (await browser.fetch(`${awLong.url}/.auth/me`)).status,
      200,
      'the session is kept (long timeout)',
    );
    await idp.start();

    const back = await call(4);
    t.equal(back.status, 200, 'provider back: the same session gets its token');
    t.equal((await call(4, awLong)).status, 200, 'provider back: likewise (long timeout)');
    t.equal(idp.counters.authorize, authorize, 'without signing in again');
  },
);
