// CSRF, CORS and framing: every answer authward writes itself (pages, JSON errors, redirects, probes)
// carries frame-ancestors 'none', Cache-Control: no-store and Referrer-Policy: no-referrer, and none ever
// reflects an Origin into Access-Control-Allow-Origin.
import type { IncomingHttpHeaders } from 'node:http';
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { closedPort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';
import { rawRequest, startApp } from '../helpers/world.js';

const EVIL = 'https://evil.example';
const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate', origin: EVIL };
const API = { accept: 'application/json', origin: EVIL };

t.test("authward's own answers", async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const dead = await closedPort();
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      upstream: { bodyLimit: 16 },
      routes: [
        { name: 'dead', path: '/dead', target: `http://127.0.0.1:${dead}`, scopes: ['api://orders/read'] },
      ],
      authorization: { paths: [{ prefix: '/admin', requiredRoles: ['App.Admin'] }] },
    },
  });
  t.teardown(() => aw.close());
  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  const landing = await signIn(b, `${aw.url}/`, { login: 'alice' });
  t.equal(landing.status, 200);
  const cookie = b.cookieHeader(`${aw.url}/`) as string;
  const seen = new Set<number>();

  const own = (what: string, status: number, res: { status: number; headers: IncomingHttpHeaders }) => {
    t.equal(res.status, status, `${what}: ${status}`);
    seen.add(res.status);
    t.match(
      res.headers['content-security-policy'],
      /frame-ancestors 'none'/,
      `${what}: frame-ancestors 'none'`,
    );
    t.equal(res.headers['cache-control'], 'no-store', `${what}: no-store`);
    t.equal(res.headers['referrer-policy'], 'no-referrer', `${what}: no-referrer`);
    t.equal(res.headers['x-frame-options'], 'DENY', `${what}: X-Frame-Options`);
    t.notOk(
      Object.keys(res.headers).some((h) => h.startsWith('access-control-')),
      `${what}: no CORS headers`,
    );
  };
  const get = (path: string, headers: Record<string, string>, method = 'GET', body?: string) =>
    rawRequest(aw.url, path, { method, headers, ...(body === undefined ? {} : { body }) });

  own('sign-in redirect', 302, await get('/page', NAVIGATE));
  own('401 for an API caller', 401, await get('/api/x', API));
  own('/.auth/login', 302, await get('/.auth/login', NAVIGATE));
  own('callback, forged state', 400, await get('/.auth/login/aad/callback?code=x&state=y', NAVIGATE));
  own('callback, provider error', 400, await get('/.auth/login/aad/callback?error=x', NAVIGATE));
  own('/.auth/me signed out', 401, await get('/.auth/me', API));
  own('/.auth/me signed in', 200, await get('/.auth/me', { ...API, cookie }));
  own(
    '/.auth/me preflight',
    404,
    await get('/.auth/me', { ...API, 'access-control-request-method': 'PUT' }, 'OPTIONS'),
  );
  own('unknown /.auth path', 404, await get('/.auth/nothing', API));
  own(
    'logout confirmation',
    200,
    await get('/.auth/logout', { ...NAVIGATE, 'sec-fetch-site': 'cross-site' }),
  );
  own(
    'cross-site logout',
    403,
    await get('/.auth/logout', { ...API, cookie, 'sec-fetch-site': 'cross-site' }, 'POST', ''),
  );
  own('authorization denied', 403, await get('/admin', { ...API, cookie }));
  own('a method nothing routes', 404, await get('/x', { ...API, cookie }, 'PROPFIND'));
  own('TRACE', 405, await get('/x', API, 'TRACE'));
  own('ambiguous path', 400, await get('/a/%2e%2e/b', API));
  own(
    'too many headers',
    431,
    await get('/x', {
      ...API,
      ...Object.fromEntries(Array.from({ length: 250 }, (_, i) => [`x-h${i}`, '1'])),
    }),
  );
  own('body over upstream.bodyLimit', 413, await get('/x', { ...API, cookie }, 'POST', 'x'.repeat(17)));
  own('upstream unreachable', 502, await get('/dead/x', { ...API, cookie }));
  own('liveness probe', 200, await get('/healthz', API));
  own('readiness probe', 200, await get('/readyz', API));
  // Sign-in and sign-out redirects go through a real browser flow too.
  const out = await get('/.auth/logout', { ...API, origin: aw.url, cookie }, 'POST', '');
  own('logout', 302, out);
  t.ok(seen.size >= 10, `covered ${[...seen].sort().join(', ')}`);

  // The application's own answers are its business: authward adds none of these, nor CORS.
  const b2 = new Browser({ ca: idp.caPem });
  t.teardown(() => b2.close());
  await signIn(b2, `${aw.url}/`, { login: 'alice' });
  const app = await rawRequest(aw.url, '/data', {
    headers: { ...API, cookie: b2.cookieHeader(`${aw.url}/`) as string },
  });
  t.equal(app.status, 200, 'a proxied answer');
  t.equal(app.headers['access-control-allow-origin'], undefined, 'no CORS header reflected on it either');
  t.equal(app.headers['access-control-allow-credentials'], undefined);
});
