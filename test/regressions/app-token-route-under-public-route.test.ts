// A `token: app` route never hands the application's own token to anonymous callers by accident: a
// publicRoutes entry over it is a config error naming both, unless the route says `public: true`.
import t from 'tap';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';
import { startApi } from '../helpers/api.js';
import { rawConfig } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, startApp, waitReady } from '../helpers/world.js';

const XHR = { accept: 'application/json' };
const appRoute = (extra: Record<string, unknown> = {}) => ({
  name: 'apptok',
  path: '/apptok',
  target: 'http://127.0.0.1:9/api',
  scopes: ['api://orders/.default'],
  token: 'app',
  ...extra,
});

const problemsOf = (overrides: Record<string, unknown>): string[] => {
  try {
    validateConfig(rawConfig(overrides));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

t.test('a public path over an app-token route is a config error naming both entries', async (t) => {
  for (const publicPath of ['/apptok/pub/*', '/apptok/pub', '/apptok*', '/*', '/apptok/pub/x']) {
    const problems = problemsOf({
      routes: [appRoute()],
      publicRoutes: [{ path: '/static/*' }, { path: publicPath }],
    });
    t.equal(problems.length, 1, `${publicPath}: one problem`, { problems });
    t.match(problems[0], /^publicRoutes\[1\]\.path: /, `${publicPath}: names the public entry`);
    t.ok(problems[0]?.includes(`"${publicPath}"`), `${publicPath}: with its path`);
    t.match(problems[0], /routes\[0\] \("\/apptok"/, `${publicPath}: names the route and its path`);
    t.match(problems[0], /routes\[0\]\.public: true/, `${publicPath}: says how to allow it knowingly`);
  }
  // Not an overlap: a sibling path, a user-token route, a longer route (all methods) that owns the path.
  t.same(problemsOf({ routes: [appRoute()], publicRoutes: [{ path: '/apptoken/*' }] }), []);
  t.same(
    problemsOf({ routes: [appRoute({ token: 'user' })], publicRoutes: [{ path: '/apptok/pub/*' }] }),
    [],
  );
  t.same(
    problemsOf({
      routes: [appRoute(), { ...appRoute({ token: 'user' }), name: 'pub', path: '/apptok/pub' }],
      publicRoutes: [{ path: '/apptok/pub/*' }],
    }),
    [],
    'a user route owning the whole public prefix shields the app route',
  );
  // A longer route limited to some methods does not shield it: other methods fall through to /apptok.
  t.equal(
    problemsOf({
      routes: [
        appRoute(),
        { ...appRoute({ token: 'user' }), name: 'pub', path: '/apptok/pub', methods: ['POST'] },
      ],
      publicRoutes: [{ path: '/apptok/pub/*' }],
    }).length,
    1,
  );
  t.same(
    problemsOf({ routes: [appRoute({ public: true })], publicRoutes: [{ path: '/apptok/pub/*' }] }),
    [],
    'public: true is the explicit choice',
  );
  t.same(problemsOf({ routes: [appRoute({ token: 'user', public: true })] }), [
    'routes[0].public: only applies to token: app routes',
  ]);
});

t.test('public: true is warned about at start', async (t) => {
  const { logger, lines } = captureLogger('warn');
  const app = await buildApp(
    validateConfig(
      rawConfig({ routes: [appRoute({ public: true })], publicRoutes: [{ path: '/apptok/pub/*' }] }),
    ),
    { logger },
  );
  await app.close();
  t.ok(
    lines.some((l) => l.level === 40 && /routes\[apptok\].*anonymous callers/.test(String(l.msg))),
    'one warning naming the route',
    { lines },
  );
});

t.test('at run time an anonymous caller never gets the app token without public: true', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const api = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => api.close());
  const overrides = {
    routes: [appRoute({ target: api.url, public: true })],
    publicRoutes: [{ path: '/apptok/pub/*' }],
  };

  // Declared: anonymous callers of the public path get the app token (the operator's explicit choice).
  const declared = await startApp({ idp, upstreamUrl: upstream.url, overrides });
  t.teardown(() => declared.close());
  const pub = await fetch(`${declared.url}/apptok/pub/x`, { headers: XHR });
  t.equal(pub.status, 200, 'public: true: the public path works anonymously');
  t.equal(api.requests.at(-1)?.claims?.sub, idp.clients.secret.clientId, 'with the app token');
  const priv = await fetch(`${declared.url}/apptok/other`, { headers: XHR });
  t.equal(priv.status, 401, 'the rest of the route still needs a session');

  // A config that skipped the check (built by hand): the pre-handler still refuses to mint for nobody.
  const port = await freePort();
  const checked = validateConfig(
    rawConfig({
      ...overrides,
      listen: { host: '127.0.0.1', port },
      publicUrl: `http://127.0.0.1:${port}`,
      identity: {
        protocol: idp.mode,
        authority: idp.authority,
        clientId: idp.clients.secret.clientId,
        clientSecret: idp.clients.secret.clientSecret,
        caFile: idp.caFile,
      },
      upstream: { url: upstream.url },
    }),
  );
  const unchecked = structuredClone(checked) as Config & { routes: { public: boolean }[] };
  (unchecked.routes[0] as { public: boolean }).public = false;
  const app = await buildApp(unchecked);
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port });
  await waitReady(app);
  const before = api.requests.length;
  const grants = idp.counters.clientCredentials;
  const anon = await fetch(`http://127.0.0.1:${port}/apptok/pub/x`, { headers: XHR });
  await anon.arrayBuffer();
  t.equal(api.requests.length, before + 1, 'forwarded (the path is public)');
  t.equal(api.requests.at(-1)?.headers.authorization, undefined, 'but without any token');
  t.equal(idp.counters.clientCredentials, grants, 'no app token minted for an anonymous caller');
});
