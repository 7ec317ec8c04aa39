// identity.routeScopes firstUse: a route's scope is consented when first used (navigation: redirect; XHR: 401 JSON).
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { startApp } from '../helpers/app.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';

const XHR = { accept: 'application/json', 'sec-fetch-mode': 'cors' };
const scopesOf = (q: Record<string, unknown> | undefined) => String(q?.scope ?? '').split(' ');

t.test('firstUse: consent on first use of a route, then the API gets a valid token', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const orders = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => orders.close());
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      identity: { routeScopes: 'firstUse' },
      routes: [{ name: 'orders', path: '/api/orders', target: orders.url, scopes: ['api://orders/read'] }],
    },
  });
  t.teardown(() => aw.close());

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
