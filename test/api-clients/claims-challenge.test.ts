// Conditional Access on the API-client path: the provider's claims challenge on the on-behalf-of call,
// and a downstream API's insufficient_claims challenge, both reach the API client as 401
// `WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64>"` (never a 500, never a redirect).
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { apiWorld, call, userToken } from './harness.js';

const CLAIMS = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';

for (const mode of ['aad', 'oidc'] as const) {
  t.test(`${mode}: claims challenges are passed back`, async (t) => {
    const w = await apiWorld(t, mode);
    const orders = await startApi(w.idp, { audience: 'api://orders', scope: 'api://orders/read' });
    t.teardown(() => orders.close());
    const aw = await w.start({
      routes: [{ name: 'orders', path: '/api/orders', target: orders.url, scopes: ['api://orders/read'] }],
    });
    const token = await userToken(w.idp, 'dora');

    w.grants.challengeNext(CLAIMS);
    const res = await call(`${aw.url}/api/orders/x`, token);
    t.equal(res.status, 401, 'the provider asked for more claims');
    const challenge = res.headers.get('www-authenticate') ?? '';
    t.match(challenge, /^Bearer error="insufficient_claims", claims="([A-Za-z0-9+/=]+)"$/);
    const claims = /claims="([^"]+)"/.exec(challenge)?.[1] ?? '';
    t.same(JSON.parse(Buffer.from(claims, 'base64').toString()), JSON.parse(CLAIMS), 'the claims to satisfy');
    t.equal(((await res.json()) as { error: string }).error, 'insufficient_claims');
    t.equal(res.headers.get('location'), null, 'no redirect');
    t.equal(orders.requests.length, 0, 'nothing reached the API');

    orders.challengeNext(CLAIMS);
    const down = await call(`${aw.url}/api/orders/y`, token);
    t.equal(down.status, 401, "the downstream API's challenge");
    const c2 = /claims="([^"]+)"/.exec(down.headers.get('www-authenticate') ?? '')?.[1] ?? '';
    t.same(JSON.parse(Buffer.from(c2, 'base64').toString()), JSON.parse(CLAIMS));
    t.equal(down.headers.get('location'), null);
  });
}
