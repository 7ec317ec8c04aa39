// Issue 11 item 2: an aad multi-tenant authority with no tenant restriction is a loud warning at start.
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../helpers/config.js';
import { captureLogger } from '../helpers/world.js';

// Discovery goes to a closed local port: the warning must not depend on the provider being up.
const aad = (identity: Record<string, unknown>, authorization: Record<string, unknown> = {}) =>
  testConfig({
    identity: {
      protocol: 'aad',
      authority: undefined,
      instance: 'https://127.0.0.1:1/',
      clientId: 'c',
      clientSecret: 's',
      ...identity,
    },
    authorization,
  });

async function warnings(config: ReturnType<typeof testConfig>) {
  const { logger, lines } = captureLogger('info');
  const app = await buildApp(config, { logger, metricsServer: false });
  await app.close();
  return lines
    .filter((l) => l.level === 40 && l.event === 'config')
    .map((l) => String(l.msg))
    .filter((m) => /tenant/i.test(m));
}

t.test('common / organizations without a tenant rule: one warning naming the risk', async (t) => {
  for (const tenantId of ['common', 'organizations', 'Organizations']) {
    const w = await warnings(aad({ tenantId }));
    t.equal(w.length, 1, `${tenantId}: one warning`);
    t.match(w[0], /users of any .*tenant can sign in/i, `${tenantId}: names the risk`);
    t.match(w[0], /identity\.allowedTenants/, `${tenantId}: names the fix`);
  }
  const viaAuthority = await warnings(aad({ authority: 'https://127.0.0.1:1/common/' }));
  t.equal(viaAuthority.length, 1, 'an authority URL naming common warns too');
});

t.test('no warning when a tenant rule or a single tenant is configured', async (t) => {
  t.same(await warnings(aad({ tenantId: 'common', allowedTenants: ['t1'] })), [], 'identity.allowedTenants');
  t.same(
    await warnings(aad({ tenantId: 'organizations' }, { allowedTenants: ['t1'] })),
    [],
    'authorization.allowedTenants',
  );
  t.same(await warnings(aad({ tenantId: '9188040d-6c67-4c5b-b112-36a304b66dad' })), [], 'one tenant');
  t.same(
    await warnings(testConfig({ identity: { authority: 'https://127.0.0.1:1/common' } })),
    [],
    'oidc mode: not an Entra authority',
  );
});
