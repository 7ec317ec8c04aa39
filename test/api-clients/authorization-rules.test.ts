// The authorization rules apply to API callers as to signed-in users: global and per path, on the token's claims.
import t from 'tap';
import { apiWorld, appOnlyToken, call, ROLE, userToken } from './harness.js';

t.test('authorization rules on bearer callers', async (t) => {
  const w = await apiWorld(t, 'aad', {
    overrides: {
      authorization: {
        paths: [
          { prefix: '/admin', allowedUsers: ['dora@test.invalid', 'not-a-real-user'] },
          { prefix: '/reports', requiredRoles: [ROLE] },
        ],
      },
    },
  });
  const dora = await userToken(w.idp, 'dora');
  const app = await appOnlyToken(w.idp);
  t.equal((await call(`${w.aw.url}/open`, dora)).status, 200, 'no rule: in');
  const admin = await call(`${w.aw.url}/admin/x`, dora);
  t.equal(admin.status, 403, 'an access token carries no username here: allowedUsers by name denies');
  t.equal(((await admin.json()) as { error: string }).error, 'forbidden');
  t.equal((await call(`${w.aw.url}/ADMIN/x`, app)).status, 403, 'an app is no allowed user (any case)');
  t.equal((await call(`${w.aw.url}/reports/q`, app)).status, 200, 'the app holds the role');
  t.equal((await call(`${w.aw.url}/reports/q`, dora)).status, 403, 'the user does not');

  const byOid = await w.start({
    authorization: { paths: [{ prefix: '/admin', allowedUsers: [w.idp.oidFor('dora')] }] },
  });
  t.equal((await call(`${byOid.url}/admin/x`, dora)).status, 200, 'allowedUsers by oid lets the user in');
  t.equal((await call(`${byOid.url}/admin/x`, app)).status, 403);
});
