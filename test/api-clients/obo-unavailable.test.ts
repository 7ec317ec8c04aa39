// oidc mode with a provider that offers no token exchange: an error at start names the routes, API
// clients on them get 502 on_behalf_of_unavailable, the default upstream still serves them (unless
// upstream.tokens needs on-behalf-of there too: named at start, 502 for a user's token, app-only passes).
import t from 'tap';
import { apiWorld, appOnlyToken, call, userToken } from './harness.js';

t.test('oidc without token exchange', async (t) => {
  const w = await apiWorld(t, 'oidc', { grants: { grants: ['obo'] } });
  t.notOk(
    (w.idp.discovery.grant_types_supported as string[]).includes(
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ),
    'the provider does not list token exchange',
  );
  const aw = await w.start({
    routes: [
      { name: 'orders', path: '/api/orders', target: 'http://127.0.0.1:9', scopes: ['api://orders/read'] },
    ],
  });
  t.ok(
    w.logs.some((l) => l.includes('"level":50') && l.includes('routes orders need on-behalf-of')),
    'an error at start names the route',
  );
  const token = await userToken(w.idp, 'dora');
  const res = await call(`${aw.url}/api/orders/1`, token);
  t.equal(res.status, 502);
  t.equal(((await res.json()) as { error: string }).error, 'on_behalf_of_unavailable');
  t.equal((await call(`${aw.url}/elsewhere`, token)).status, 200, 'the default upstream still serves');

  const withTokens = await w.start({ upstream: { tokens: ['api://orders/read'] } });
  t.ok(
    w.logs.some(
      (l) =>
        l.includes('"level":50') && l.includes('upstream.tokens (the default upstream) need on-behalf-of'),
    ),
    'an error at start names upstream.tokens',
  );
  const up = await call(`${withTokens.url}/elsewhere`, token);
  t.equal(up.status, 502, "upstream.tokens on a user's behalf cannot be had: 502");
  t.equal(((await up.json()) as { error: string }).error, 'on_behalf_of_unavailable');
  t.equal(
    (await call(`${withTokens.url}/elsewhere`, await appOnlyToken(w.idp))).status,
    200,
    'app-only passes',
  );
});
