// Tokens due for renewal are refreshed at every acquisition; the L1 does not hide it (renewWindow 1: MSAL's 300 s).
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startWorld, XHR } from '../helpers/world.js';

t.test('tokens near expiry are refreshed; the API always gets a valid one', async (t) => {
  // 300 s with renewWindow 1 (MSAL's fixed 300 s window): due for renewal when issued, so every
  // acquisition is a refresh. (The default window is relative: short-token-lifetime.test.ts.)
  const aw = await startWorld(t, {
    idp: { apiScopes: ['api://orders/read'], accessTokenTTL: 300 },
    apis: ['orders'], // the route /api/orders to the orders API
    // tokenCache.l1Ttl stays at its default (30 s): longer than the token is usable.
    config: { tokenCache: { renewWindow: 1 } },
  });
  const { idp } = aw;
  const { orders } = aw.apis;
  t.equal(aw.config.tokenCache.l1Ttl, 30, 'default l1Ttl');

  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'kim' })).status, 200, 'signed in');

  // MSAL compares whole seconds (rounded): a token is "not yet in the renewal window" for under a
  // second after it was issued, and the L1 entry ends before that. A second apart, every
  // acquisition must therefore reach the provider.
  const start = idp.counters.refreshToken;
  const l1Before = aw.app.tokens.metrics.l1Hits;
  const tokens: string[] = [];
  for (let i = 0; i < 3; i++) {
    await sleep(1100);
    const res = await browser.fetch(`${aw.url}/api/orders/${i}`, { headers: XHR });
    t.equal(res.status, 200, `request ${i} answered`);
    const req = orders.requests.at(-1);
    t.equal(req?.refused, undefined, `request ${i}: the API verified the token`);
    t.equal(req?.claims?.sub, 'kim');
    const exp = Number(req?.claims?.exp);
    t.ok(exp * 1000 > Date.now(), `request ${i}: the token the API got has not expired`);
    t.ok(exp * 1000 <= Date.now() + 301_000, `request ${i}: it is the short-lived one`);
    tokens.push(String(req?.headers.authorization));
    t.equal(
      idp.counters.refreshToken - start,
      i + 1,
      `request ${i}: one refresh each (L1 and store skipped)`,
    );
  }
  t.equal(new Set(tokens).size, tokens.length, 'each request carried a newly refreshed token');
  t.equal(
    aw.app.tokens.metrics.l1Hits,
    l1Before,
    'the in-process cache never served a token due for renewal',
  );
  const jtis = orders.requests.map((r) => r.claims?.jti);
  t.equal(new Set(jtis).size, jtis.length, 'distinct tokens (jti)');

  // Parallel requests for one account share one refresh (single flight), slow provider or not.
  await sleep(1100);
  idp.setResponseDelay(300);
  const before = idp.counters.refreshToken;
  const parallel = await Promise.all(
    [0, 1, 2, 3].map((i) => browser.fetch(`${aw.url}/api/orders/p${i}`, { headers: XHR })),
  );
  idp.setResponseDelay(0);
  t.same(
    parallel.map((r) => r.status),
    [200, 200, 200, 200],
  );
  t.equal(idp.counters.refreshToken - before, 1, 'one refresh served four concurrent requests');
  t.equal(idp.counters.tokenErrors, 0, 'no refresh failed');
  t.equal(new Set(orders.requests.slice(-4).map((r) => r.headers.authorization)).size, 1, 'the same token');
});
