// Which route a request takes: longest prefix, whole segments only, per-route methods, identity headers on request.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp, XHR } from '../helpers/world.js';

t.test('route matching', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read', 'api://graph/user.read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const broad = await startApi(idp, { audience: 'api://graph', scope: 'api://graph/user.read' });
  t.teardown(() => broad.close());
  const orders = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => orders.close());
  const reports = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => reports.close());
  const ident = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => ident.close());
  const orderScopes = ['api://orders/read'];
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      routes: [
        // Declared shortest first: the order in the file must not matter.
        { name: 'api', path: '/api', target: `${broad.url}/b`, scopes: ['api://graph/user.read'] },
        { name: 'orders', path: '/api/orders', target: `${orders.url}/o`, scopes: orderScopes },
        { name: 'reports', path: '/reports', target: reports.url, scopes: orderScopes, methods: ['GET'] },
        { name: 'ident', path: '/ident', target: ident.url, scopes: orderScopes, identityHeaders: true },
      ],
    },
  });
  t.teardown(() => aw.close());
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'quinn' })).status, 200, 'signed in');

  /** Which server got the request, at which URL, with which token audience. */
  const where = async (path: string, method = 'GET') => {
    const counts = [broad, orders, reports, ident].map((a) => a.requests.length);
    const ups = upstream.requests.length;
    const res = await browser.fetch(`${aw.url}${path}`, {
      method,
      headers: XHR,
      body: method === 'GET' ? undefined : '{}',
    });
    await res.arrayBuffer();
    const hit = [broad, orders, reports, ident].findIndex((a, i) => a.requests.length > (counts[i] ?? 0));
    if (hit >= 0) {
      const api = [broad, orders, reports, ident][hit];
      const r = api?.requests.at(-1);
      return {
        status: res.status,
        to: ['api', 'orders', 'reports', 'ident'][hit],
        url: r?.url,
        aud: r?.claims?.aud,
        req: r,
      };
    }
    if (upstream.requests.length > ups) {
      const r = upstream.lastRequest;
      return {
        status: res.status,
        to: 'upstream',
        url: r?.url,
        aud: undefined,
        auth: r?.headers.authorization,
      };
    }
    return { status: res.status, to: 'nowhere' };
  };

  t.test('longest prefix wins', async (t) => {
    t.match(await where('/api/orders/x'), { status: 200, to: 'orders', url: '/o/x', aud: 'api://orders' });
    t.match(await where('/api/orders'), { status: 200, to: 'orders', url: '/o', aud: 'api://orders' });
    t.match(await where('/api/orders/'), { status: 200, to: 'orders', url: '/o/' });
    t.match(await where('/api/other/y?q=1'), {
      status: 200,
      to: 'api',
      url: '/b/other/y?q=1',
      aud: 'api://graph',
    });
    t.match(await where('/api'), { status: 200, to: 'api', url: '/b' });
  });

  t.test('a prefix matches whole segments only', async (t) => {
    t.match(await where('/api/ordersX/1'), { to: 'api', url: '/b/ordersX/1', aud: 'api://graph' });
    t.match(await where('/api/orders.json'), { to: 'api', url: '/b/orders.json' });
    t.match(await where('/apix'), { to: 'upstream', url: '/apix', auth: undefined });
    t.match(await where('/reportsX'), { to: 'upstream', url: '/reportsX' });
  });

  t.test('methods: a GET-only route never takes another method with a token', async (t) => {
    t.match(await where('/reports/r1'), { status: 200, to: 'reports', url: '/r1', aud: 'api://orders' });
    const before = reports.requests.length;
    const post = await where('/reports/r1', 'POST');
    t.equal(reports.requests.length, before, 'the POST never reached the route target');
    // "methods: HTTP methods this entry applies to": other methods are not the route's, so they go
    // where every unclaimed request goes, the default upstream, without any bearer token.
    t.match(post, { to: 'upstream', url: '/reports/r1', auth: undefined });
    t.match(await where('/reports', 'DELETE'), { to: 'upstream', url: '/reports', auth: undefined });
  });

  t.test('identity headers only on routes that ask for them', async (t) => {
    const withHeaders = await where('/ident/me');
    t.equal(withHeaders.to, 'ident');
    t.equal(withHeaders.req?.headers['x-forwarded-user'], 'quinn', 'identityHeaders: true sends them');
    t.equal(withHeaders.req?.headers['x-ms-client-principal-name'], 'quinn@test.invalid');
    t.type(withHeaders.req?.headers['x-ms-client-principal'], 'string');
    t.equal(withHeaders.req?.claims?.sub, 'quinn', 'next to the bearer token');
    const without = await where('/api/orders/me');
    t.equal(without.req?.headers['x-forwarded-user'], undefined, 'the default is none');
    t.equal(without.req?.headers['x-ms-client-principal'], undefined);
  });
});
