// Start-up warnings from the config alone: memory store, multi-tenant aad without a tenant rule, open trustProxy.
import t from 'tap';
import { checkConfig } from '../../src/config/validate.js';
import { configWarnings } from '../../src/config/warnings.js';
import { rawConfig, testConfig } from '../helpers/config.js';

const MEMORY = 'tokenCache.type is memory: run a single replica';
const aad = (identity: Record<string, unknown>, authorization: Record<string, unknown> = {}) =>
  testConfig({
    identity: { protocol: 'aad', authority: undefined, clientId: 'c', clientSecret: 's', ...identity },
    authorization,
  });
const tenantWarnings = (c: ReturnType<typeof testConfig>) =>
  configWarnings(c).filter((w) => /tenant/i.test(w));

t.test('checkConfig: the frozen config and its warnings', async (t) => {
  const { config, warnings } = checkConfig(rawConfig());
  t.ok(Object.isFrozen(config));
  t.same(warnings, [MEMORY], 'the default memory store: one warning');
  t.throws(() => checkConfig(rawConfig({ upstream: { url: 'nope' } })), { name: 'ConfigError' });
});

t.test('memory store: a warning; redis: none', async (t) => {
  t.same(configWarnings(testConfig()), [MEMORY]);
  const redis = testConfig({
    tokenCache: { type: 'redis', url: 'redis://127.0.0.1:1', encryptionKeys: [rawKey()] },
  });
  t.same(configWarnings(redis), []);
});

t.test('aad common / organizations without a tenant rule: one warning naming risk and fix', async (t) => {
  for (const tenantId of ['common', 'organizations', 'Organizations']) {
    const w = tenantWarnings(aad({ tenantId }));
    t.equal(w.length, 1, tenantId);
    t.match(w[0], /users of any .*tenant can sign in/i);
    t.match(w[0], /identity\.allowedTenants/);
  }
  t.equal(tenantWarnings(aad({ authority: 'https://login.example/common/' })).length, 1, 'via authority');
  t.same(tenantWarnings(aad({ tenantId: 'common', allowedTenants: ['t1'] })), [], 'identity.allowedTenants');
  t.same(tenantWarnings(aad({ tenantId: 'organizations' }, { allowedTenants: ['t1'] })), [], 'authorization');
  t.same(tenantWarnings(aad({ tenantId: '9188040d-6c67-4c5b-b112-36a304b66dad' })), [], 'one tenant');
  t.same(
    tenantWarnings(testConfig({ identity: { authority: 'https://login.example/common' } })),
    [],
    'oidc: not an Entra authority',
  );
});

t.test('trustProxy true warns; a list, a hop count or false does not', async (t) => {
  const open = configWarnings(testConfig({ trustProxy: true })).filter((w) => /trustProxy/.test(w));
  t.equal(open.length, 1);
  t.match(open[0], /any client/);
  for (const trustProxy of [false, 1, ['10.0.0.0/8']])
    t.same(
      configWarnings(testConfig({ trustProxy })).filter((w) => /trustProxy/.test(w)),
      [],
      JSON.stringify(trustProxy),
    );
});

function rawKey(): string {
  return Buffer.alloc(32, 7).toString('base64');
}

// Route warnings depend on the config alone, so --check-config reports them too (not only a start).
const route = (name: string, extra: Record<string, unknown>) => ({
  name,
  path: `/${name}`,
  target: 'https://api.example',
  scopes: ['orders.read'],
  ...extra,
});

t.test('two user routes sharing a scope with different resources: one warning naming both', async (t) => {
  const c = testConfig({
    routes: [
      route('orders', { resource: 'https://orders.example' }),
      route('plain', {}),
      route('apporders', { resource: 'https://orders.example', token: 'app' }),
    ],
  });
  const w = configWarnings(c).filter((m) => /share scope/.test(m));
  t.equal(w.length, 1, 'the app-token route has its own client: no warning for it');
  t.match(w[0], /routes orders and plain share scope orders\.read/);
  const same = testConfig({
    routes: [
      route('a', { resource: 'https://orders.example' }),
      route('b', { resource: 'https://orders.example', path: '/b' }),
    ],
  });
  t.same(
    configWarnings(same).filter((m) => /share scope/.test(m)),
    [],
    'one resource: no warning',
  );
});

t.test('an app-token route with public: true is named in a warning', async (t) => {
  const c = testConfig({
    routes: [route('apptok', { token: 'app', public: true })],
    publicRoutes: [{ path: '/apptok/pub/*' }],
  });
  const w = configWarnings(c).filter((m) => /anonymous callers/.test(m));
  t.equal(w.length, 1);
  t.match(w[0], /routes\[apptok\]/);
  t.same(
    configWarnings(testConfig({ routes: [route('apptok', { token: 'app' })] })).filter((m) =>
      /anonymous/.test(m),
    ),
    [],
  );
});
