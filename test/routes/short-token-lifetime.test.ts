// Short-lived access tokens are reused for most of their life, renewed once per lifetime.
//
// Issue 12: MSAL's fixed 300 s renewal window refreshed tokens living 300 s or less on every call.
// Calls once a second for the token's whole life and a little past it. Deterministic by counting:
// the token can only be renewed once due (within its renewal window of its exp, plus 1 s of MSAL's
// rounding), and the renewed one outlives the run, so exactly one refresh happens, whatever the
// machine's speed. A 20 s token (any lifetime under 300 s shows the bug) keeps the run short; its
// window is the 5 s floor: how the window follows the lifetime is test/tokens/renewal-point.test.ts's.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startWorld, XHR } from '../helpers/world.js';

const TTL = 20;
/** renewalPoint's window for a TTL-second token at the default share (0.1): at least 5 s. */
const WINDOW = Math.max(5, 0.1 * TTL);

t.test(`${TTL} s tokens: one refresh per lifetime, not one per call`, async (t) => {
  const aw = await startWorld(t, {
    idp: { apiScopes: ['api://orders/read'], accessTokenTTL: TTL },
    apis: ['orders'], // the route /api/orders to the orders API
  });
  const { idp } = aw;
  const { orders } = aw.apis;
  t.equal(aw.config.tokenCache.renewWindow, 0.1, 'the default renewal window');
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'ivo' })).status, 200, 'signed in');

  const refreshesAtStart = idp.counters.refreshToken;
  const calls: { ended: number; jti: unknown; exp: number }[] = [];
  let firstExp = Number.POSITIVE_INFINITY;
  for (let i = 0; Date.now() < firstExp * 1000 + 2000; i++) {
    const res = await browser.fetch(`${aw.url}/api/orders/${i}`, { headers: XHR });
    t.equal(res.status, 200, `call ${i}`);
    await res.arrayBuffer();
    const claims = orders.requests.at(-1)?.claims;
    t.ok(claims, `call ${i}: the API verified the token (not expired)`);
    const exp = Number(claims?.exp);
    if (i === 0) firstExp = exp;
    calls.push({ ended: Date.now(), jti: claims?.jti, exp });
    await sleep(1000);
  }

  const refreshes = idp.counters.refreshToken - refreshesAtStart;
  const tokens = [...new Set(calls.map((c) => c.jti))];
  t.equal(refreshes, 1, `one refresh in ${calls.length} calls over the token's life`);
  t.equal(tokens.length, 2, 'two tokens: the first, then its renewal');
  const renewedAt = calls.findIndex((c) => c.jti !== calls[0]?.jti);
  const first = calls[0] as (typeof calls)[0];
  const renewal = calls[renewedAt] as (typeof calls)[0];
  t.ok(
    renewal.ended >= (first.exp - WINDOW - 1) * 1000,
    `the first token was renewed only when due (${((first.exp * 1000 - renewal.ended) / 1000).toFixed(1)} s before its exp)`,
  );
  t.ok(
    renewedAt > 0 && calls.slice(renewedAt).every((c) => c.jti === renewal.jti),
    'the renewed one then served',
  );
  t.equal(idp.counters.tokenErrors, 0);
});
