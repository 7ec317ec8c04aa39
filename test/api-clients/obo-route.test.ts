// A user's token on a `token: user` route: authward acquires the route's token on behalf of that user
// (aad: MSAL acquireTokenOnBehalfOf, Entra's jwt-bearer grant; oidc: RFC 8693 token exchange) and the
// downstream API verifies it (aud, scope, the original user); a repeat costs no provider request.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { apiWorld, appOnlyToken, call, userToken } from './harness.js';

for (const mode of ['aad', 'oidc'] as const) {
  t.test(`${mode}: on-behalf-of token reaches the downstream API`, async (t) => {
    const w = await apiWorld(t, mode, { overrides: {} });
    const orders = await startApi(w.idp, { audience: 'api://orders', scope: 'api://orders/read' });
    t.teardown(() => orders.close());
    const aw = await w.start({
      routes: [
        { name: 'orders', path: '/api/orders', target: `${orders.url}/v1`, scopes: ['api://orders/read'] },
      ],
    });
    const token = await userToken(w.idp, 'dora');
    const grantsBefore = w.idp.counters.otherGrants;

    const res = await call(`${aw.url}/api/orders/items/7`, token);
    t.equal(res.status, 200, await res.clone().text());
    const seen = orders.requests.at(-1);
    t.equal(seen?.refused, undefined, 'the API accepted the token');
    t.equal(seen?.claims?.aud, 'api://orders');
    t.equal(seen?.claims?.sub, 'dora', 'on behalf of the original user');
    if (mode === 'aad') t.equal(seen?.claims?.oid, w.idp.oidFor('dora'));
    t.not(seen?.headers.authorization, `Bearer ${token}`, "the caller's own token never reaches a route");
    t.equal(
      w.grants.served[mode === 'aad' ? 'obo' : 'exchange'],
      1,
      `one ${mode === 'aad' ? 'OBO' : 'exchange'} grant`,
    );
    t.equal(w.idp.counters.otherGrants, grantsBefore + 1);

    const again = await call(`${aw.url}/api/orders/items/8`, token);
    t.equal(again.status, 200);
    t.equal(w.idp.counters.otherGrants, grantsBefore + 1, 'second call: no provider request');
    t.equal(orders.requests.at(-1)?.headers.authorization, seen?.headers.authorization, 'the cached token');

    const app = await call(`${aw.url}/api/orders/items/9`, await appOnlyToken(w.idp));
    t.equal(app.status, 403, 'an app-only caller has no user to act for');
    t.equal(app.headers.get('www-authenticate'), 'Bearer error="insufficient_scope"');
  });
}
