// Path and rule bypasses: method-override headers, HEAD/OPTIONS/TRACE, URL-override headers, probes keyed
// on User-Agent, and a router that reads a path differently than the rules do. One canonical path decides
// routing, authorization, token choice and forwarding, or the request is refused.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { rawRequest, startApp } from '../helpers/world.js';

const JSON_API = { accept: 'application/json' };

t.test('path and rule bypasses', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read', 'api://graph/user.read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const broad = await startApi(idp, { audience: 'api://graph', scope: 'api://graph/user.read' });
  t.teardown(() => broad.close());
  const orders = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => orders.close());
  idp.setUser('alice', { groups: ['api-users'] });
  idp.setUser('bob', { groups: ['staff'] });
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      // Even a trusted front proxy cannot choose the path authward checks.
      trustProxy: true,
      routes: [
        { name: 'api', path: '/api', target: `${broad.url}/b`, scopes: ['api://graph/user.read'] },
        { name: 'orders', path: '/api/orders', target: `${orders.url}/o`, scopes: ['api://orders/read'] },
        {
          name: 'reports',
          path: '/reports',
          target: `${orders.url}/r`,
          scopes: ['api://orders/read'],
          methods: ['GET'],
        },
      ],
      publicRoutes: [{ path: '/open', methods: ['GET'] }, { path: '/static/*' }],
      authorization: { paths: [{ prefix: '/api', requiredGroups: ['api-users'] }] },
    },
  });
  t.teardown(() => aw.close());
  const browsers: Browser[] = [];
  t.teardown(() => Promise.all(browsers.map((b) => b.close())));
  const cookieOf = async (login: string) => {
    const b = new Browser({ ca: idp.caPem });
    browsers.push(b);
    t.equal((await signIn(b, `${aw.url}/.auth/login`, { login })).status, 200, `${login} signed in`);
    return b.cookieHeader(`${aw.url}/`) as string;
  };
  const alice = await cookieOf('alice');
  const bob = await cookieOf('bob');
  const seen = () => ({
    up: upstream.requests.length,
    broad: broad.requests.length,
    orders: orders.requests.length,
  });

  await t.test('an encoded path is routed, authorized and forwarded as the path it decodes to', async (t) => {
    for (const path of ['/%61pi/orders/x', '/api/%6Frders/x', '/%61%70%69/%6f%72%64%65%72%73/x']) {
      const res = await rawRequest(aw.url, path, { headers: { ...JSON_API, cookie: alice } });
      t.equal(res.status, 200, `${path}: 200 for a member of api-users`);
      const got = orders.requests.at(-1);
      t.equal(got?.url, '/o/x', `${path}: the orders route, its prefix replaced`);
      t.equal(got?.claims?.aud, 'api://orders', `${path}: with the orders token`);
      const before = seen();
      const denied = await rawRequest(aw.url, path, { headers: { ...JSON_API, cookie: bob } });
      t.equal(denied.status, 403, `${path}: 403 for bob, the /api rule applied`);
      t.same(seen(), before, `${path}: bob's request went nowhere`);
    }
  });

  await t.test('a path the router reads differently than the rules is refused', async (t) => {
    const before = seen();
    for (const path of [
      '/api;x/orders/x', // router: the catch-all (";" is data to it); rules: /api/orders/x
      '/api/orders;v=1/x', // router: the /api route; rules and token choice: /api/orders
      '/api%3Bx/orders/x',
      '/.auth;x/me',
      '/healthz;x',
    ]) {
      const res = await rawRequest(aw.url, path, { headers: { ...JSON_API, cookie: alice } });
      t.equal(res.status, 400, `${path}: 400`);
    }
    // An encoded ";" is data to servers ("static;x" is one segment), never a parameter to drop.
    const pub = await rawRequest(aw.url, '/static%3Bx/app.js', { headers: JSON_API });
    t.equal(pub.status, 400, '/static%3Bx/app.js is not the public /static/app.js');
    t.same(seen(), before, 'none of them reached an API or the upstream');
    // Control: a parameter inside a route's own segment reads the same to both.
    const ok = await rawRequest(aw.url, '/api/orders/x;jsessionid=1', {
      headers: { ...JSON_API, cookie: alice },
    });
    t.equal(ok.status, 200);
    t.equal(orders.requests.at(-1)?.url, '/o/x;jsessionid=1', 'forwarded as sent');
  });

  await t.test('method-override headers never reach a backend', async (t) => {
    const overrides = {
      'X-HTTP-Method-Override': 'DELETE',
      'X-HTTP-Method': 'DELETE',
      'X-Method-Override': 'DELETE',
    };
    // A GET-only public path: the upstream must not be told it was a DELETE.
    const open = await rawRequest(aw.url, '/open', { headers: { ...JSON_API, ...overrides } });
    t.equal(open.status, 200, 'GET /open is public');
    const last = upstream.lastRequest;
    t.equal(last?.method, 'GET');
    const names = (last?.rawHeaders ?? []).filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
    t.notOk(
      names.some((n) => n.replace(/_/g, '-').includes('method')),
      'no override header arrives',
      { names },
    );
    const underscored = await rawRequest(aw.url, '/open', {
      headers: { ...JSON_API, X_HTTP_Method_Override: 'DELETE' },
    });
    t.equal(underscored.status, 200);
    t.notOk(JSON.stringify(upstream.lastRequest?.rawHeaders).includes('DELETE'), 'nor its _ spelling');
    // The other way round: a POST claiming to be a GET is still a POST, and /open is GET-only.
    const before = seen();
    const post = await rawRequest(aw.url, '/open', {
      method: 'POST',
      headers: { ...JSON_API, 'X-HTTP-Method-Override': 'GET' },
      body: '{}',
    });
    t.equal(post.status, 401, 'POST /open + override GET: still needs a session');
    t.same(seen(), before);
    // A GET-only token route: the API gets a GET and no override.
    const report = await rawRequest(aw.url, '/reports/r1', {
      headers: { ...JSON_API, ...overrides, cookie: alice },
    });
    t.equal(report.status, 200);
    const api = orders.requests.at(-1);
    t.equal(api?.method, 'GET');
    t.equal(api?.url, '/r/r1');
    t.notOk(
      Object.keys(api?.headers ?? {}).some((n) => n.includes('method')),
      'no override header at the API',
    );
  });

  await t.test('HEAD, OPTIONS and TRACE on a protected path', async (t) => {
    const before = seen();
    const head = await rawRequest(aw.url, '/private', { method: 'HEAD', headers: JSON_API });
    t.equal(head.status, 401, 'HEAD without a session: 401');
    const preflight = await rawRequest(aw.url, '/private', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'DELETE' },
    });
    t.equal(preflight.status, 401, 'OPTIONS (a CORS preflight) without a session: 401');
    t.equal(preflight.headers['access-control-allow-origin'], undefined);
    for (const cookie of [undefined, alice]) {
      const trace = await rawRequest(aw.url, '/private', {
        method: 'TRACE',
        headers: cookie ? { cookie } : {},
      });
      t.equal(trace.status, 405, `TRACE ${cookie ? 'with' : 'without'} a session: 405`);
    }
    t.same(seen(), before, 'nothing was forwarded');
    const signedHead = await rawRequest(aw.url, '/private', { method: 'HEAD', headers: { cookie: alice } });
    t.equal(signedHead.status, 200, 'control: HEAD with a session is forwarded');
    t.equal(upstream.lastRequest?.method, 'HEAD');
    const routeHead = await rawRequest(aw.url, '/reports/r1', { method: 'HEAD', headers: { cookie: alice } });
    t.equal(routeHead.status, 200, 'HEAD on a GET-only route goes where GET goes');
    t.match(orders.requests.at(-1), { method: 'HEAD', url: '/r/r1' });
  });

  await t.test(
    'X-Original-URL, X-Rewrite-URL, X-Forwarded-Uri and friends never choose the path',
    async (t) => {
      const before = seen();
      const pretend = {
        'X-Original-URL': '/open',
        'X-Rewrite-URL': '/static/x',
        'X-Forwarded-Uri': '/static/x',
        'X-Original-URI': '/open',
        'X-Forwarded-Prefix': '/static',
      };
      for (const path of ['/admin', '/api/orders/x']) {
        const res = await rawRequest(aw.url, path, { headers: { ...JSON_API, ...pretend } });
        t.equal(res.status, 401, `${path}: still needs a session`);
      }
      t.same(seen(), before);
      const pub = await rawRequest(aw.url, '/static/app.js', {
        headers: { ...JSON_API, 'X-Original-URL': '/admin', 'X-Forwarded-Uri': '/admin' },
      });
      t.equal(pub.status, 200);
      t.equal(upstream.lastRequest?.url, '/static/app.js');
      t.notOk(
        JSON.stringify(upstream.lastRequest?.rawHeaders).includes('/admin'),
        'the headers are not forwarded',
      );
    },
  );

  await t.test('health probes are paths, not User-Agents', async (t) => {
    for (const ua of [undefined, 'kube-probe/1.29', 'curl/8.5.0', 'ELB-HealthChecker/2.0']) {
      const res = await rawRequest(aw.url, '/healthz', { headers: ua ? { 'user-agent': ua } : {} });
      t.equal(res.status, 200, `/healthz with ${ua ?? 'no User-Agent'}`);
    }
    const before = seen();
    for (const ua of [
      'kube-probe/1.29',
      'ELB-HealthChecker/2.0',
      'GoogleHC/1.0',
      'Amazon-Route53-Health-Check-Service',
    ]) {
      const res = await rawRequest(aw.url, '/admin', { headers: { ...JSON_API, 'user-agent': ua } });
      t.equal(res.status, 401, `${ua} on /admin: 401`);
    }
    const post = await rawRequest(aw.url, '/healthz', { method: 'POST', headers: JSON_API, body: '' });
    t.equal(post.status, 401, 'POST /healthz is no probe: it needs a session like any path');
    t.same(seen(), before);
  });
});
