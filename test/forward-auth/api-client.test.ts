// An API client (bearer token, no session) through the server: on a forwardAuth route authward's answer
// carries the route's token acquired on behalf of the caller's user (the proxy mode's OBO step), which
// the server sends on in place of the caller's own token; the API verifies it. App-only callers have no
// user to act for (403); a bad token, or one the provider wants more claims for, is 401 with its
// challenge (passed on by the server); the default backend never gets a token.
import t from 'tap';
import { appOnlyToken, userToken } from '../api-clients/harness.js';
import { forwardAuthSetup } from './harness.js';

for (const server of ['nginx', 'caddy'] as const) {
  t.test(`${server}: an API client's call reaches the orders API with an on-behalf-of token`, async (t) => {
    const s = await forwardAuthSetup(t, server, {}, { apiClients: true });
    const token = await userToken(s.idp, 'dora');
    const call = (path: string, bearer: string) =>
      fetch(`${s.front.url}${path}`, {
        headers: { accept: 'application/json', authorization: `Bearer ${bearer}` },
        redirect: 'manual',
      });

    const res = await call('/api/orders/items/7?sort=desc', token);
    t.equal(
      res.status,
      200,
      `accepted (${await res.text()} ${await s.front.log().then((l) => l.slice(-300))})`,
    );
    const seen = s.orders.requests.at(-1);
    t.equal(seen?.url, '/v1/items/7?sort=desc', 'the server sent it to the API itself');
    t.equal(seen?.refused, undefined, 'the API verified the token');
    t.equal(seen?.claims?.aud, 'api://orders');
    t.equal(seen?.claims?.sub, 'dora', 'on behalf of the caller');
    t.not(seen?.headers.authorization, `Bearer ${token}`, "the caller's own token never reaches the route");
    t.equal(s.grants?.served.obo, 1, 'one on-behalf-of grant');

    const again = await call('/api/orders/items/8', token);
    t.equal(again.status, 200);
    t.equal(s.grants?.served.obo, 1, 'a repeat: the cached token, no provider request');
    t.equal(s.orders.requests.at(-1)?.headers.authorization, seen?.headers.authorization);

    const page = await call('/page', token);
    await page.arrayBuffer();
    t.equal(page.status, 200, 'the default backend');
    t.equal(
      s.backend.lastRequest?.headers['x-forwarded-user'],
      s.idp.oidFor('dora'),
      'with the identity headers',
    );
    t.notOk(s.backend.lastRequest?.headers.authorization, 'and no token (caddy: an empty one)');

    const appOnly = await call('/api/orders/items/9', await appOnlyToken(s.idp));
    await appOnly.arrayBuffer();
    t.equal(appOnly.status, 403, 'an app-only caller has no user to act for');

    const forged = await call('/api/orders/items/9', `${token.slice(0, -4)}AAAA`);
    await forged.arrayBuffer();
    t.equal(forged.status, 401, 'a token that does not verify: 401');
    t.equal(forged.headers.get('www-authenticate'), 'Bearer error="invalid_token"', 'with its challenge');
    // The provider wants more claims (Conditional Access): proxy mode's challenge, through the server.
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    s.grants?.challengeNext(claims);
    const challenged = await call('/api/orders/items/10', await userToken(s.idp, 'erin'));
    await challenged.arrayBuffer();
    t.equal(challenged.status, 401, 'more claims required: 401');
    const challenge = challenged.headers.get('www-authenticate') ?? '';
    t.match(challenge, /^Bearer error="insufficient_claims", claims="/, 'the insufficient_claims challenge');
    const asked = /claims="([^"]+)"/.exec(challenge)?.[1] ?? '';
    t.same(JSON.parse(Buffer.from(asked, 'base64').toString()), JSON.parse(claims), 'the claims to satisfy');
    t.equal(challenged.headers.get('location'), null, 'no redirect');
    t.equal(s.orders.requests.length, 2, 'the API saw only the two accepted calls');
  });
}
