// Validation fills every default, leaves its input alone and returns a deeply frozen config.
import t from 'tap';
import { validateConfig } from '../../src/config/validate.js';
import { rawConfig } from '../helpers/config.js';

type Raw = Record<string, unknown>;

/** A minimal raw config: only what has no default. */
function minimal(): Raw {
  const full = rawConfig();
  return {
    publicUrl: full.publicUrl,
    identity: full.identity,
    session: full.session,
    upstream: full.upstream,
  };
}

t.test('defaults are filled in', async (t) => {
  const c = validateConfig(minimal());
  t.same(c.listen, { host: '0.0.0.0', port: 8080, workers: 1 });
  t.equal(c.trustProxy, false);
  t.equal(c.shutdownGraceSeconds, 10);
  t.same(c.health, { livenessPath: '/healthz', readinessPath: '/readyz' });
  t.equal(c.upstream.timeout, 30);
  t.same(c.upstream.identityHeaders, { msClientPrincipal: true, forwarded: true, userClaim: 'id' });
  t.same(c.upstream.tokens, []);
  t.equal(c.identity.callbackPath, '/.auth/login/aad/callback');
  t.equal(c.identity.pathPrefix, '/.auth');
  t.same(c.identity.scopes, ['openid', 'profile', 'offline_access']);
  t.equal(c.identity.timeout, 10);
  t.equal(c.session.cookieName, 'authward');
  t.equal(c.session.lifetime, 8 * 3600);
  t.equal(c.session.idleTimeout, 3600);
  t.equal(c.tokenCache.type, 'memory');
  t.equal(c.tokenCache.keyPrefix, 'authward:');
  t.equal(c.tokenCache.maxEntries, 100_000);
  t.same(c.routes, []);
  t.same(c.publicRoutes, []);
  t.same(c.authorization, { paths: [] });
  t.same(c.logging, { level: 'info', pretty: false, levelNames: false, timestamp: 'epoch' });
  t.same(c.metrics, { enabled: true, host: '0.0.0.0', port: 9464, path: '/metrics' });
});

t.test('defaults inside list items are filled in', async (t) => {
  const c = validateConfig({
    ...minimal(),
    routes: [{ name: 'api', path: '/api', target: 'http://127.0.0.1:9', scopes: ['s'] }],
  });
  t.match(c.routes[0], { token: 'user', timeout: 30, identityHeaders: false });
});

t.test('the input is not changed', async (t) => {
  const raw = minimal();
  const before = structuredClone(raw);
  validateConfig(raw);
  t.same(raw, before);
  t.notOk('listen' in raw, 'no defaults written into the input');
});

t.test('the config is deeply frozen', async (t) => {
  const c = validateConfig({
    ...minimal(),
    publicRoutes: [{ path: '/static/*', methods: ['GET'] }],
  });
  const unfrozen: string[] = [];
  (function walk(v: unknown, path: string) {
    if (!v || typeof v !== 'object') return;
    if (!Object.isFrozen(v)) unfrozen.push(path || '(root)');
    for (const [k, sub] of Object.entries(v)) walk(sub, `${path}.${k}`);
  })(c, '');
  t.same(unfrozen, [], 'every object and array is frozen');

  const mutable = c as unknown as Raw & { upstream: Raw; session: { keys: string[] } };
  t.throws(() => {
    mutable.upstream.url = 'http://evil.example';
  }, TypeError);
  t.throws(() => mutable.session.keys.push('x'), TypeError);
  t.throws(() => {
    (mutable.publicRoutes as Raw[])[0] = {};
  }, TypeError);
  t.throws(() => {
    mutable.newKey = 1;
  }, TypeError);
  t.equal(c.upstream.url, 'http://127.0.0.1:1');
});
