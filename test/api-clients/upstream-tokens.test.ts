// upstream.tokens for API clients: the default upstream gets X-MS-TOKEN-AAD-ACCESS-TOKEN acquired on
// behalf of the caller's user (aad: OBO, oidc: token exchange), verified by a real API (aud, scope, the
// original user), beside the caller's own token in Authorization; a repeat costs no provider request; an
// app-only caller (no user to act for) passes without the header; a claims challenge goes back (401).
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { apiWorld, appOnlyToken, call, userToken } from './harness.js';

const HEADER = 'x-ms-token-aad-access-token';

for (const mode of ['aad', 'oidc'] as const) {
  t.test(`${mode}: upstream.tokens on behalf of an API client`, async (t) => {
    const w = await apiWorld(t, mode, {
      overrides: { upstream: { tokens: ['api://orders/read'], tokenHeaders: { expiresOn: true } } },
    });
    const orders = await startApi(w.idp, { audience: 'api://orders', scope: 'api://orders/read' });
    t.teardown(() => orders.close());
    const token = await userToken(w.idp, 'dora');
    const grantsBefore = w.idp.counters.otherGrants;

    const res = await call(`${w.aw.url}/x`, token);
    t.equal(res.status, 200, 'the call passes');
    const seen = w.upstream.requests.at(-1)?.headers ?? {};
    t.equal(seen.authorization, `Bearer ${token}`, "the caller's own token, unchanged");
    const injected = String(seen[HEADER] ?? '');
    t.not(injected, '', 'X-MS-TOKEN-AAD-ACCESS-TOKEN is sent');
    t.not(injected, token, "it is not the caller's own token");
    t.ok(Number.isFinite(Date.parse(String(seen['x-ms-token-aad-expires-on']))), 'with its expiry');

    // The header's token, presented to the API it is for: verified there, for the original user.
    await fetch(`${orders.url}/check`, { headers: { authorization: `Bearer ${injected}` } });
    const check = orders.requests.at(-1);
    t.equal(check?.refused, undefined, 'the API accepts the injected token');
    t.equal(check?.claims?.aud, 'api://orders');
    t.equal(check?.claims?.sub, 'dora', 'on behalf of the original user');
    t.equal(w.idp.counters.otherGrants, grantsBefore + 1, `one ${mode === 'aad' ? 'OBO' : 'exchange'} grant`);

    t.equal((await call(`${w.aw.url}/y`, token)).status, 200);
    t.equal(w.upstream.requests.at(-1)?.headers[HEADER], injected, 'second call: the cached token');
    t.equal(w.idp.counters.otherGrants, grantsBefore + 1, 'second call: no provider request');

    const app = await call(`${w.aw.url}/z`, await appOnlyToken(w.idp));
    t.equal(app.status, 200, 'an app-only caller passes');
    t.equal(w.upstream.requests.at(-1)?.headers[HEADER], undefined, '... with no token on its behalf');

    // Conditional Access on that acquisition: the claims go back to the client, nothing to the upstream.
    const seenBefore = w.upstream.requests.length;
    w.grants.challengeNext('{"access_token":{"acrs":{"essential":true,"value":"c1"}}}');
    const other = await userToken(w.idp, 'erin');
    const challenged = await call(`${w.aw.url}/w`, other);
    t.equal(challenged.status, 401, 'a claims challenge is passed back');
    t.match(challenged.headers.get('www-authenticate'), /^Bearer error="insufficient_claims", claims="/);
    t.equal(w.upstream.requests.length, seenBefore, 'nothing reached the upstream');
    t.notMatch(w.logs.join('\n'), injected, 'the injected token is in no log line');
  });
}
