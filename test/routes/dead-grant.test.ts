// A revoked grant ends the session: navigation re-signs in, XHR gets 401, the token cache entry is deleted.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { KeyedStore, NAV, startWorld, XHR } from '../helpers/world.js';

t.test('dead grant: session ended, cache entry deleted, sign-in works again', async (t) => {
  // 300 s tokens with renewWindow 1 (MSAL's fixed 300 s) need a refresh at every acquisition (a
  // second after issue: MSAL rounds to seconds).
  const store = new KeyedStore(1000);
  t.teardown(() => store.close());
  const aw = await startWorld(t, {
    idp: { apiScopes: ['api://orders/read'], accessTokenTTL: 300 },
    apis: ['orders'], // the route /api/orders to the orders API
    config: { tokenCache: { renewWindow: 1 } },
    store,
  });
  const { idp } = aw;
  const { orders } = aw.apis;
  const partitions = () => [...store.written].filter((k) => k.startsWith('acct:'));
  const live = async () => {
    const found: string[] = [];
    for (const k of partitions()) if (await store.get(k)) found.push(k);
    return found;
  };

  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'lee' })).status, 200, 'signed in');
  t.equal((await browser.fetch(`${aw.url}/api/orders/1`, { headers: XHR })).status, 200, 'route works');
  t.equal((await live()).length, 1, "the account's token cache entry exists");

  t.test('browser navigation after the grant died', async (t) => {
    t.ok((await idp.revokeRefreshTokens('lee')) > 0, 'grant revoked at the provider');
    await sleep(1100);
    const apiCalls = orders.requests.length;
    const errors = idp.counters.tokenErrors;
    const res = await browser.fetch(`${aw.url}/api/orders/2`, { headers: NAV });
    t.equal(idp.counters.tokenErrors - errors, 1, 'the refresh was refused');
    t.equal(res.status, 302, 'redirected');
    const location = new URL(res.headers.get('location') ?? '');
    t.equal(`${location.origin}${location.pathname}`, idp.discovery.authorization_endpoint, 'to sign in');
    t.equal(orders.requests.length, apiCalls, 'the API was not called');
    t.same(await live(), [], 'the token cache entry was deleted');
    t.equal((await browser.fetch(`${aw.url}/.auth/me`)).status, 401, 'the session ended');
    const next = await browser.fetch(`${aw.url}/api/orders/3`, { headers: XHR });
    t.equal(next.status, 401, 'the next call is unauthenticated');
    t.equal(idp.counters.tokenErrors - errors, 1, 'without another refresh attempt');

    const again = await signIn(browser, `${aw.url}/api/orders/4`, { login: 'lee' });
    t.equal(again.status, 200, 'signing in again works and lands on the route');
    t.equal(orders.requests.at(-1)?.claims?.sub, 'lee');
    t.equal(orders.requests.at(-1)?.refused, undefined);
    t.equal((await live()).length, 1, 'a new token cache entry');
  });

  t.test('XHR after the grant died', async (t) => {
    t.ok((await idp.revokeRefreshTokens('lee')) > 0, 'grant revoked again');
    await sleep(1100);
    const res = await browser.fetch(`${aw.url}/api/orders/5`, { headers: XHR });
    t.equal(res.status, 401);
    const body = (await res.json()) as { error: string; loginUrl: string };
    t.equal(body.error, 'unauthenticated', 'sign-in, not consent: the grant is gone');
    t.match(body.loginUrl, /^\/\.auth\/login\?/, 'with a loginUrl');
    t.same(await live(), [], 'the token cache entry was deleted');
    t.equal((await browser.fetch(`${aw.url}/.auth/me`)).status, 401, 'the session ended');
    const next = await browser.fetch(`${aw.url}/api/orders/6`, { headers: XHR });
    t.equal(next.status, 401, 'and stays ended');

    const again = await signIn(browser, new URL(body.loginUrl, aw.url).href, { login: 'lee' });
    t.equal(again.url, `${aw.url}/api/orders/5`, 'loginUrl returns to the call');
    t.equal(again.status, 200, 'signed in again');
  });
});
