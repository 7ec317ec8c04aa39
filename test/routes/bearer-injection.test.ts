// Two routes with different audiences each get their own valid token; client Authorization and cookies never reach them.
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startWorld } from '../helpers/world.js';

t.test('two routes, two audiences, tokens verified by each API', async (t) => {
  const aw = await startWorld(t, {
    idp: { apiScopes: ['api://orders/read', 'api://graph/user.read'] },
    apis: {
      orders: { audience: 'api://orders', scope: 'api://orders/read' },
      graph: { audience: 'api://graph', scope: 'api://graph/user.read' },
    },
    config: (w) => ({
      routes: [
        {
          name: 'orders',
          path: '/api/orders',
          target: `${w.apis.orders.url}/v1`,
          scopes: ['api://orders/read'],
        },
        {
          name: 'graph',
          path: '/graph',
          target: `${w.apis.graph.url}/beta`,
          scopes: ['api://graph/user.read'],
        },
      ],
    }),
  });
  const {
    idp,
    apis: { orders, graph },
  } = aw;

  const browser = new Browser({ ca: idp.caPem });
  const page = await signIn(browser, `${aw.url}/`, { login: 'carol' });
  t.equal(page.status, 200);

  browser.setCookie(aw.url, 'app=1; Path=/');
  const res = await browser.fetch(`${aw.url}/api/orders/items/7?sort=desc&x=1&x=2`, {
    headers: { authorization: 'Bearer client-supplied', accept: 'application/json' },
  });
  t.equal(res.status, 200, 'orders answered');
  const o = orders.requests.at(-1);
  t.equal(o?.url, '/v1/items/7?sort=desc&x=1&x=2', 'base path + rest of the path + query, exactly');
  t.equal(o?.claims?.aud, 'api://orders');
  t.equal(o?.claims?.sub, 'carol');
  t.not(o?.headers.authorization, 'Bearer client-supplied', "the client's Authorization was replaced");
  t.equal(o?.headers.cookie, undefined, "no cookies by default, the app's nor authward's (forwardCookies)");
  t.equal(o?.headers['x-forwarded-user'], undefined, 'no identity headers unless the route asks');
  t.equal(o?.headers.host, new URL(orders.url).host, 'Host is the target');

  const g = await browser.fetch(`${aw.url}/graph/me`, { headers: { accept: 'application/json' } });
  t.equal(g.status, 200);
  t.equal(graph.requests.at(-1)?.claims?.aud, 'api://graph');
  t.not(
    graph.requests.at(-1)?.headers.authorization,
    o?.headers.authorization,
    'different tokens per audience',
  );

  const before = idp.counters.refreshToken;
  for (let i = 0; i < 5; i++) await (await browser.fetch(`${aw.url}/graph/me`)).arrayBuffer();
  t.equal(idp.counters.refreshToken, before, 'fresh tokens come from the cache, no provider round trip');

  const redirect = await browser.fetch(`${aw.url}/graph/redirect`);
  t.equal(redirect.status, 302, 'a downstream redirect is passed to the client, not followed');
  t.equal(redirect.headers.get('location'), 'https://elsewhere.invalid/steal');
});
