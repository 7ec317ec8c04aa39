// A `token: app` route sends the application's own client-credentials token, cached, and still needs a session.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp, XHR } from '../helpers/world.js';

t.test('app route: app-only token, cached, behind the session check', async (t) => {
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
      routes: [
        {
          name: 'orders',
          path: '/api/orders',
          target: orders.url,
          scopes: ['api://orders/.default'],
          token: 'app',
        },
        {
          name: 'status',
          path: '/api/status',
          target: orders.url,
          scopes: ['api://orders/.default'],
          token: 'app',
          public: true, // publicRoutes below it get the app token (test/regressions/app-token-route-under-public-route)
        },
      ],
      publicRoutes: [{ path: '/api/status/*' }],
    },
  });
  t.teardown(() => aw.close());
  const clientId = idp.clients.secret.clientId;

  // No session: the route is not public, so the session check answers before any token is minted.
  const anon = new Browser({ ca: idp.caPem });
  t.teardown(() => anon.close());
  const denied = await anon.fetch(`${aw.url}/api/orders/1`, { headers: XHR });
  t.equal(denied.status, 401, 'an app route still requires a signed-in user');
  t.match(await denied.json(), { error: 'unauthenticated' });
  const nav = await anon.fetch(`${aw.url}/api/orders/1`, {
    headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
  });
  t.equal(nav.status, 302, 'a browser is sent to sign in');
  t.equal(orders.requests.length, 0, 'the API was never called without a session');
  t.equal(idp.counters.clientCredentials, 0, 'no app token was minted for an anonymous caller');

  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  const page = await signIn(browser, `${aw.url}/`, { login: 'alice' });
  t.equal(page.status, 200, 'signed in');

  // Several requests, the first ones in parallel: one client_credentials grant serves them all.
  const first = await Promise.all(
    [1, 2, 3].map((n) => browser.fetch(`${aw.url}/api/orders/${n}`, { headers: XHR })),
  );
  t.same(
    first.map((r) => r.status),
    [200, 200, 200],
    'parallel first requests all reach the API',
  );
  for (let i = 0; i < 3; i++) {
    const r = await browser.fetch(`${aw.url}/api/orders/x${i}`, { headers: XHR });
    t.equal(r.status, 200, `sequential request ${i}`);
  }
  t.equal(orders.requests.length, 6, 'the API saw all six');
  for (const r of orders.requests) {
    t.equal(r.refused, undefined, `token verified by the API (${r.url})`);
    t.equal(r.claims?.aud, 'api://orders', 'audience is the API');
    t.equal(r.claims?.sub, clientId, 'subject is the client itself (client credentials), not a user');
    t.not(r.claims?.sub, 'alice', 'no user in an app-only token');
    t.match(String(r.claims?.scope ?? ''), /api:\/\/orders\/read/, '.default expanded to the granted scope');
  }
  t.equal(
    new Set(orders.requests.map((r) => r.headers.authorization)).size,
    1,
    'every request carried the same (cached) token',
  );
  t.equal(idp.counters.clientCredentials, 1, 'one client_credentials grant for all requests');
  t.equal(idp.counters.refreshToken, 0, 'no user token was refreshed for an app route');

  // A path the operator made public, on a route with `public: true`: anonymous callers reach the API
  // with the app's token (an explicit choice: the API is then public behind authward's credentials).
  const before = orders.requests.length;
  const pub = await anon.fetch(`${aw.url}/api/status/health`, { headers: XHR });
  t.equal(pub.status, 200, 'a public app route works without a session');
  t.equal(orders.requests.length, before + 1);
  t.equal(orders.requests.at(-1)?.claims?.sub, clientId, 'with the app-only token');
  t.equal(idp.counters.clientCredentials, 1, 'same scopes: the cached app token is reused');
});
