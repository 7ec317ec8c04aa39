// The provider down or hanging while a token needs a refresh: a quick 503, and the session survives.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { NAV, startApp, XHR } from '../helpers/world.js';

t.test('provider unavailable during a refresh: 503, session kept', async (t) => {
  // 300 s tokens and renewWindow 1: every acquisition (a second after the last) needs the provider.
  const idp = await startIdp({ apiScopes: ['api://orders/read'], accessTokenTTL: 300 });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const orders = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => orders.close());
  const app = (timeout: number) =>
    startApp({
      idp,
      upstreamUrl: upstream.url,
      overrides: {
        identity: { timeout },
        tokenCache: { renewWindow: 1 }, // MSAL's fixed 300 s window: a 300 s token is always due
        routes: [{ name: 'orders', path: '/api/orders', target: orders.url, scopes: ['api://orders/read'] }],
      },
    });
  // identity.timeout 60 s: an answer well before it (< 30 s) did not wait for a timeout.
  const aw = await app(60);
  t.teardown(() => aw.close());

  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'mia' })).status, 200, 'signed in');
  t.equal((await browser.fetch(`${aw.url}/api/orders/1`, { headers: XHR })).status, 200, 'route works');
  const authorize = idp.counters.authorize;
  const apiCalls = orders.requests.length;

  t.test('provider stopped (connection refused)', async (t) => {
    await idp.stop();
    t.teardown(() => idp.start());
    await sleep(1100);
    const started = Date.now();
    const res = await browser.fetch(`${aw.url}/api/orders/2`, { headers: XHR });
    const ms = Date.now() - started;
    t.equal(res.status, 503);
    t.match(res.headers.get('content-type'), /application\/json/);
    const body = (await res.json()) as Record<string, unknown>;
    t.match(body, { error: 'provider_unavailable', message: /identity provider unavailable/ });
    t.notMatch(JSON.stringify(body), /ECONNREFUSED|fetch failed|127\.0\.0\.1/, 'no internal details');
    t.ok(ms < 30_000, `answered at the refusal (${ms} ms), not after identity.timeout 60 s`);

    const nav = await browser.fetch(`${aw.url}/api/orders/3`, { headers: NAV });
    t.equal(nav.status, 503, 'a navigation gets the 503 page, not a sign-in redirect that cannot work');
    t.match(nav.headers.get('content-type'), /text\/html/);
    await nav.arrayBuffer();
    t.equal(orders.requests.length, apiCalls, 'the API was not called without a token');
    t.equal((await browser.fetch(`${aw.url}/.auth/me`)).status, 200, 'the session is kept');

    await idp.start();
    const back = await browser.fetch(`${aw.url}/api/orders/4`, { headers: XHR });
    t.equal(back.status, 200, 'provider back: the same browser gets through');
    t.equal(orders.requests.at(-1)?.claims?.sub, 'mia');
    t.equal(idp.counters.authorize, authorize, 'without signing in again');
  });

  t.test('provider hanging: 503 after identity.timeout', async (t) => {
    // identity.timeout 2 s against a provider that answers after 60 s: an answer < 30 s is the timeout's.
    const hasty = await app(2);
    t.teardown(() => hasty.close());
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    t.equal((await signIn(browser, `${hasty.url}/`, { login: 'mia' })).status, 200, 'signed in');
    const authorize = idp.counters.authorize;
    await sleep(1100);
    idp.setResponseDelay(60_000);
    t.teardown(() => idp.setResponseDelay(0));
    const started = Date.now();
    const res = await browser.fetch(`${hasty.url}/api/orders/5`, { headers: XHR });
    const ms = Date.now() - started;
    idp.setResponseDelay(0);
    t.equal(res.status, 503);
    t.match(await res.json(), { error: 'provider_unavailable' });
    t.ok(ms >= 1900, `waited for the 2 s timeout (${ms} ms)`);
    t.ok(ms < 30_000, `answered at the timeout (${ms} ms), not the provider's 60 s answer`);
    t.equal((await browser.fetch(`${hasty.url}/.auth/me`)).status, 200, 'the session is kept');
    const back = await browser.fetch(`${hasty.url}/api/orders/6`, { headers: XHR });
    t.equal(back.status, 200, 'provider answering again: 200');
    t.equal(idp.counters.authorize, authorize, 'without signing in again');
  });
});
