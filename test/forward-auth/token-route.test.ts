// A routes[] entry with forwardAuth: the server carries the request straight to the API, with the bearer
// token authward handed it (verified by the API: signature, audience, scope, subject).
import t from 'tap';
import { signIn } from '../helpers/browser.js';
import { forwardAuthSetup } from './harness.js';

for (const server of ['nginx', 'caddy'] as const) {
  t.test(`${server}: the orders API gets the route's token for the signed-in user`, async (t) => {
    const s = await forwardAuthSetup(t, server);
    t.equal((await signIn(s.browser, `${s.front.url}/`, { login: 'carol' })).status, 200, 'signed in');
    const res = await s.browser.fetch(`${s.front.url}/api/orders/items/7?sort=desc`, {
      headers: { accept: 'application/json', authorization: 'Bearer client-supplied' },
    });
    t.equal(res.status, 200, 'the API accepted the token');
    const seen = s.orders.requests.at(-1);
    t.equal(seen?.url, '/v1/items/7?sort=desc', 'the server sent it to the API itself');
    t.equal(seen?.refused, undefined, 'token verified');
    t.equal(seen?.claims?.aud, 'api://orders');
    t.equal(seen?.claims?.sub, 'carol');
    t.not(seen?.headers.authorization, 'Bearer client-supplied', "the client's Authorization replaced");
    t.equal(seen?.headers.cookie, undefined, 'no cookies to the API');
    // The default backend never gets a token.
    await (await s.browser.fetch(`${s.front.url}/page`)).arrayBuffer();
    t.notOk(s.backend.lastRequest?.headers.authorization, 'no token to the backend (caddy: an empty one)');
  });
}
