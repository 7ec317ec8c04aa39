// routes[].resource (RFC 8707): providers that set `aud` from `resource`, not from the scopes, can target each API.
//
// The test IdP's resourceScopes trait: permission `orders.read` does not name its API, so a token
// for it has aud https://orders.example only when the token request carries that resource.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, startApp, XHR } from '../helpers/world.js';

const RESOURCE = 'https://orders.example';

t.test('a route with a resource gets a token whose aud is that resource', async (t) => {
  const idp = await startIdp({
    apiScopes: ['api://graph/read'],
    resourceScopes: { 'orders.read': RESOURCE },
  });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const orders = await startApi(idp, { audience: RESOURCE, scope: 'orders.read' });
  t.teardown(() => orders.close());
  const { logger, lines } = captureLogger('warn');
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    logger,
    overrides: {
      routes: [
        {
          name: 'orders',
          path: '/api/orders',
          target: orders.url,
          scopes: ['orders.read'],
          resource: RESOURCE,
        },
        { name: 'noresource', path: '/api/plain', target: orders.url, scopes: ['orders.read'] },
        {
          name: 'apporders',
          path: '/app/orders',
          target: orders.url,
          scopes: ['orders.read'],
          resource: RESOURCE,
          token: 'app',
        },
      ],
    },
  });
  t.teardown(() => aw.close());
  t.ok(
    lines.some((l) => /routes orders and noresource share scope orders\.read/.test(String(l.msg))),
    'a start-up warning: two resources for one scope share a cache entry',
  );
  t.notOk(
    lines.some((l) => /apporders/.test(String(l.msg))),
    'none for an app-token route (its own client)',
  );
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'ada' })).status, 200, 'signed in');
  // RFC 8707 2.1: providers like Auth0 and glewlwyd accept on a token request only a resource the
  // authorization request named (the test IdP too: otherwise the refresh gets invalid_target).
  t.same(idp.authorizeRequests[0]?.resource, RESOURCE, 'the sign-in named the route’s resource');

  const res = await browser.fetch(`${aw.url}/api/orders/1`, { headers: XHR });
  t.equal(res.status, 200, 'the route answered');
  const got = orders.requests.at(-1);
  t.equal(got?.refused, undefined, 'the API accepted the token');
  t.equal(got?.claims?.aud, RESOURCE, 'aud is the route’s resource');
  t.equal(got?.claims?.sub, 'ada');

  const refreshes = idp.counters.refreshToken;
  t.equal((await browser.fetch(`${aw.url}/api/orders/2`, { headers: XHR })).status, 200, 'again');
  t.equal(idp.counters.refreshToken, refreshes, 'the token is reused (cached under its resource)');

  // The trait is real: without `resource` the provider does not put the API in aud.
  const plain = await browser.fetch(`${aw.url}/api/plain/1`, { headers: XHR });
  await plain.arrayBuffer();
  t.not(orders.requests.at(-1)?.claims?.aud, RESOURCE, 'a route without resource: another audience');
  t.ok(orders.requests.at(-1)?.refused, 'which the API refuses');

  const app = await browser.fetch(`${aw.url}/app/orders/1`, { headers: XHR });
  t.equal(app.status, 200, 'app-token route with a resource');
  t.equal(orders.requests.at(-1)?.claims?.aud, RESOURCE, 'the app token’s aud is the resource');
  t.equal(orders.requests.at(-1)?.claims?.sub, idp.clients.secret.clientId);
});

t.test('resource: an absolute URI is required', async (t) => {
  const { testConfig } = await import('../helpers/config.js');
  const route = { name: 'r', path: '/r', target: 'http://127.0.0.1:1', scopes: ['x'] };
  t.throws(() => testConfig({ routes: [{ ...route, resource: 'orders' }] }), /routes\/0\/resource|resource/);
  t.throws(() => testConfig({ routes: [{ ...route, resource: 'https://a.example/#frag' }] }));
  t.equal(testConfig({ routes: [{ ...route, resource: RESOURCE }] }).routes[0]?.resource, RESOURCE);
});
