// identity.routeScopes firstUse: a route's scope is consented when first used (navigation: redirect; XHR: 401 JSON).
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startWorld, XHR } from '../helpers/world.js';

const scopesOf = (q: Record<string, unknown> | undefined) => String(q?.scope ?? '').split(' ');

t.test('firstUse: consent on first use of a route, then the API gets a valid token', async (t) => {
  const aw = await startWorld(t, {
    idp: { apiScopes: ['api://orders/read'] },
    apis: ['orders'], // the route /api/orders to the orders API
    config: {
      identity: { routeScopes: 'firstUse' },
    },
  });
  const { idp } = aw;
  const { orders } = aw.apis;

  t.test('browser navigation: redirected to consent, lands back on the route', async (t) => {
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    const home = await signIn(browser, `${aw.url}/`, { login: 'erin' });
    t.equal(home.status, 200, 'signed in');
    t.notOk(
      scopesOf(idp.authorizeRequests.at(-1)).includes('api://orders/read'),
      'sign-in asked base scopes only',
    );

    const refreshErrorsBefore = idp.counters.tokenErrors;
    const target = `${aw.url}/api/orders/items/9?x=1`;
    const first = await browser.fetch(target, {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
    });
    t.equal(first.status, 302, 'a navigation to a not-yet-consented route is redirected');
    const location = new URL(first.headers.get('location') ?? '');
    t.equal(
      `${location.origin}${location.pathname}`,
      idp.discovery.authorization_endpoint,
      'to the provider',
    );
    t.ok(
      scopesOf(Object.fromEntries(location.searchParams)).includes('api://orders/read'),
      "the authorization request asks for the route's scope",
    );
    t.equal(orders.requests.length, 0, 'the API was not called without a token');
    t.ok(idp.counters.tokenErrors > refreshErrorsBefore, 'the provider refused the silent refresh');
    t.equal(await browser.fetch(`${aw.url}/.auth/me`).then((r) => r.status), 200, 'the session was kept');

    const authorizeBefore = idp.counters.authorize;
    const done = await signIn(browser, target, { login: 'erin' });
    t.equal(idp.counters.authorize - authorizeBefore, 1, 'one trip to the provider (no sign-in loop)');
    t.ok(
      scopesOf(idp.authorizeRequests.at(-1)).includes('api://orders/read'),
      "the provider's last authorization request carried the API scope",
    );
    t.equal(done.url, target, 'back on the original route URL');
    t.equal(done.status, 200, 'the API answered');
    const req = orders.requests.at(-1);
    t.equal(req?.refused, undefined, 'the API verified the token');
    t.equal(req?.claims?.aud, 'api://orders');
    t.equal(req?.claims?.sub, 'erin');
    t.equal(req?.url, '/items/9?x=1');

    const again = await browser.fetch(target, { headers: XHR });
    t.equal(again.status, 200, 'consented: later calls succeed silently');
    const me = await browser.fetch(`${aw.url}/.auth/me`);
    t.equal(me.status, 200, 'still signed in');
  });

  t.test('XHR: 401 interaction_required with a loginUrl that completes consent', async (t) => {
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    t.equal((await signIn(browser, `${aw.url}/`, { login: 'frank' })).status, 200, 'signed in');
    const before = orders.requests.length;
    const target = `${aw.url}/api/orders/list`;
    const res = await browser.fetch(target, { headers: XHR });
    t.equal(res.status, 401);
    t.match(res.headers.get('content-type'), /application\/json/);
    const body = (await res.json()) as { error: string; loginUrl: string };
    t.equal(body.error, 'interaction_required');
    t.type(body.loginUrl, 'string');
    const login = new URL(body.loginUrl, aw.url);
    t.equal(login.origin, aw.url, 'loginUrl is same-origin');
    t.equal(login.searchParams.get('scopes'), 'api://orders/read', 'it names the missing scope');
    t.equal(login.searchParams.get('post_login_redirect_uri'), '/api/orders/list', 'and returns to the call');
    t.equal(orders.requests.length, before, 'the API was not called');

    const authorizeBefore = idp.counters.authorize;
    const done = await signIn(browser, login.href, { login: 'frank' });
    t.equal(idp.counters.authorize - authorizeBefore, 1, 'one trip to the provider (no sign-in loop)');
    t.ok(scopesOf(idp.authorizeRequests.at(-1)).includes('api://orders/read'), 'consent asked for the scope');
    t.equal(done.url, target, 'back on the API URL');
    t.equal(done.status, 200);
    t.equal(orders.requests.at(-1)?.claims?.sub, 'frank');
    const again = await browser.fetch(target, { headers: XHR });
    t.equal(again.status, 200, 'the XHR now succeeds');
  });
});
