// publicRoutes: exact and prefix matches on the canonical path, methods honoured, no path trick reaches the upstream.
import t from 'tap';
import { publicMatcher } from '../../src/auth/public-routes.js';
import { rawRequest, startWorld } from '../helpers/world.js';

type Routes = Parameters<typeof publicMatcher>[0];
const m = (routes: { path: string; methods?: string[] }[]) => publicMatcher(routes as Routes);

t.test('matcher: nothing configured, nothing public', async (t) => {
  const none = m([]);
  for (const p of ['/', '/static/x', '/.auth/login']) t.notOk(none('GET', p), p);
});

t.test('matcher: exact paths', async (t) => {
  const pub = m([{ path: '/robots.txt' }, { path: '/status' }]);
  t.ok(pub('GET', '/robots.txt'));
  t.ok(pub('POST', '/status'), 'no methods listed: every method');
  for (const p of ['/robots.txt/', '/robots.txt/x', '/robots.txtx', '/ROBOTS.TXT', '/status/x', '/']) {
    t.notOk(pub('GET', p), `not public: ${p}`);
  }
});

t.test('matcher: prefixes end at a segment boundary and are case-sensitive', async (t) => {
  const pub = m([{ path: '/static/*' }, { path: '/assets*' }]);
  for (const p of ['/static', '/static/', '/static/app.js', '/static/a/b/c.css', '/assets', '/assets/x']) {
    t.ok(pub('GET', p), `public: ${p}`);
  }
  for (const p of [
    '/staticfoo',
    '/static.js',
    '/Static/x',
    '/STATIC/x',
    '/x/static/y',
    '/assetsx',
    '/',
    '',
  ]) {
    t.notOk(pub('GET', p), `not public: ${p}`);
  }
  t.ok(m([{ path: '/*' }])('GET', '/anything'), '"/*" makes everything public');
});

t.test('matcher: methods restrict an entry; another entry may still allow', async (t) => {
  const pub = m([
    { path: '/open', methods: ['GET'] },
    { path: '/api/*', methods: ['GET', 'HEAD'] },
    { path: '/api/hooks/*', methods: ['POST'] },
  ]);
  t.ok(pub('GET', '/open'));
  for (const method of ['POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'get']) {
    t.notOk(pub(method, '/open'), `${method} /open is not public`);
  }
  t.ok(pub('HEAD', '/api/items'));
  t.notOk(pub('POST', '/api/items'));
  t.ok(pub('POST', '/api/hooks/github'), 'the longer prefix allows POST');
  t.ok(pub('GET', '/api/hooks/github'), 'the shorter prefix still allows GET');
  t.notOk(pub('DELETE', '/api/hooks/github'));
});

// No sign-in happens here, so the protocol mode does not matter: oidc only.
for (const mode of ['oidc'] as const) {
  t.test(`${mode}: end to end, path tricks never reach the upstream without a session`, async (t) => {
    const aw = await startWorld(t, {
      idp: { mode },
      config: { publicRoutes: [{ path: '/static/*' }, { path: '/open', methods: ['GET'] }] },
    });
    const { idp, upstream } = aw;
    const api = { accept: 'application/json' };

    for (const path of ['/static/app.js', '/static', '/static/a/b.css?v=1', '/%73tatic/x']) {
      const res = await rawRequest(aw.url, path, { headers: api });
      t.equal(res.status, 200, `public: ${path}`);
      t.equal(upstream.lastRequest?.url, path, `${path}: forwarded as sent`);
    }
    const open = await rawRequest(aw.url, '/open', { headers: api });
    t.equal(open.status, 200, 'GET /open is public');

    upstream.reset();
    const tricks = [
      '/static/../admin',
      '/static/./../admin',
      '/static/%2e%2e/admin',
      '/static/%2E%2E/admin',
      '/static/.%2e/admin',
      '/static/%2e./admin',
      '/static/%252e%252e/admin',
      '/static%2f../admin',
      '/static%2F..%2Fadmin',
      '/static/..%2fadmin',
      '/static/..%5cadmin',
      '/static/..\\admin',
      '/static\\..\\admin',
      '/static/..;/admin',
      '/static;/../admin',
      '/static/x/../../admin',
      '/static//../admin',
      '//static/x',
      '//static/../admin',
      '/%73tatic/../admin',
      '/static/%00/../admin',
      '/static/%0a/../admin',
      '/admin?x=/static/',
      '/admin?/static/x',
      '/admin;/static/x',
      '/admin/static/x',
      '/Static/x',
      '/STATIC/x',
      '/staticx',
      '/static.js',
      `http://127.0.0.1:${new URL(aw.url).port}/static/x`,
      'http://evil.example/static/../admin',
      '*',
    ];
    for (const path of tricks) {
      let res: Awaited<ReturnType<typeof rawRequest>> | undefined;
      try {
        res = await rawRequest(aw.url, path, { headers: api });
      } catch (err) {
        t.pass(`${JSON.stringify(path)}: the client refuses to send it (${(err as Error).message})`);
        continue;
      }
      t.ok([400, 401, 404].includes(res.status), `${JSON.stringify(path)}: ${res.status}, not the upstream`);
      t.not(res.status, 200);
    }
    // A navigation gets the sign-in redirect instead, still not the upstream.
    const nav = await rawRequest(aw.url, '/admin?x=/static/', {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
    });
    t.equal(nav.status, 302);
    t.ok(String(nav.headers.location).startsWith(idp.discovery.authorization_endpoint));

    for (const method of ['POST', 'PUT', 'DELETE', 'HEAD']) {
      const res = await rawRequest(aw.url, '/open', {
        method,
        headers: api,
        body: method === 'HEAD' ? undefined : '{}',
      });
      t.equal(res.status, 401, `${method} /open is not public`);
    }
    t.same(
      upstream.requests.map((r) => `${r.method} ${r.url}`),
      [],
      'the upstream saw none of the tricks',
    );
  });
}
