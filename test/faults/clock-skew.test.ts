// The provider's clock 5 minutes ahead or behind ours: a clear 400 or a sign-in, never a login loop or a refresh storm.
//
// The system clock cannot be moved in a test, so the provider's skew is in what it signs: its ID token's
// iat, nbf and exp shifted by ±300 s (signed with its real key). An Entra ID token carries nbf = iat, so a
// provider ahead by more than identity.clockSkew issues tokens "not valid yet". Access tokens are dated by
// expires_in (relative), which MSAL turns into our clock: skew must not make them look stale.
import type { FastifyInstance } from 'fastify';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { testConfig } from '../helpers/config.js';
import { type IdTokenParts, startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, identityFor, XHR } from '../helpers/world.js';

const SKEW = 300;

const idp = await startIdp({ apiScopes: ['api://orders/read'] });
t.teardown(() => idp.close());
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const orders = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
t.teardown(() => orders.close());

async function start(identity: Record<string, unknown> = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { logger, lines } = captureLogger('info');
  const config = testConfig({
    listen: { host: '127.0.0.1', port },
    publicUrl: url,
    identity: identityFor(idp, identity),
    upstream: { url: upstream.url },
    routes: [{ name: 'orders', path: '/api/orders', target: orders.url, scopes: ['api://orders/read'] }],
    // Every acquisition past the in-process cache: the store's freshness check decides each time.
    tokenCache: { l1Ttl: 0.001 },
  });
  const app: FastifyInstance = await buildApp(config, { logger });
  await app.listen({ host: '127.0.0.1', port });
  t.teardown(() => app.close());
  while (!app.readiness.ready) await new Promise((r) => setTimeout(r, 20));
  return { url, lines };
}

/** The provider's clock `by` seconds off: every time in its next ID token shifted, nbf added as Entra has it. */
const skewNextIdToken = (by: number) =>
  idp.tamperNextIdToken(({ payload }: IdTokenParts) => {
    const iat = Number(payload.iat) + by;
    return {
      payload: { ...payload, iat, nbf: iat, exp: Number(payload.exp) + by, auth_time: iat },
      signWith: 'idp-key',
    };
  });

const defaultSkew = await start();
const tolerant = await start({ clockSkew: SKEW });

t.test(`provider ${SKEW / 60} min ahead, default clockSkew: a clear 400, no loop`, async (t) => {
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  const authorize = idp.counters.authorize;
  skewNextIdToken(SKEW);
  const page = await signIn(browser, `${defaultSkew.url}/deep`, { login: 'ahead' });
  t.equal(page.status, 400, 'sign-in refused with 400');
  t.match(page.url, '/.auth/login/aad/callback', 'the browser stays on the callback: no redirect onwards');
  t.match(page.body, /the ID token was rejected/);
  t.equal(idp.counters.authorize, authorize + 1, 'one trip to the provider, not a loop');
  const failed = defaultSkew.lines.find((l) => l.event === 'sign_in_failed');
  t.match(
    failed,
    { msg: /claim nbf is (29\d|30\d) s in the future by this server's clock .*clocks in sync/ },
    `the log says what is wrong and by how much: "${failed?.msg}"`,
  );
  t.notOk(browser.cookie(defaultSkew.url, 'authward'), 'no session');

  // The user tries again: one more round trip per attempt, still no loop (the next token is skewed too).
  skewNextIdToken(SKEW);
  const retry = await signIn(browser, `${defaultSkew.url}/deep`, { login: 'ahead' });
  t.equal(retry.status, 400);
  t.equal(idp.counters.authorize, authorize + 2, 'exactly one more authorization request');
});

t.test(`provider ${SKEW / 60} min behind: signed in, and no refresh storm`, async (t) => {
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  skewNextIdToken(-SKEW);
  const page = await signIn(browser, `${defaultSkew.url}/deep`, { login: 'behind' });
  t.equal(page.status, 200, 'signed in (an ID token issued 5 min "ago" is still within its hour)');
  t.equal(page.url, `${defaultSkew.url}/deep`);
  const refreshes = idp.counters.refreshToken;
  for (let i = 0; i < 10; i++) {
    const res = await browser.fetch(`${defaultSkew.url}/api/orders/${i}`, { headers: XHR });
    t.equal(res.status, 200, `call ${i + 1}`);
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 20));
  }
  t.equal(idp.counters.refreshToken, refreshes, 'no refresh: the token from sign-in served all 10 calls');
});

t.test(`identity.clockSkew ${SKEW}: provider ${SKEW / 60} min ahead signs in`, async (t) => {
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  skewNextIdToken(SKEW);
  const page = await signIn(browser, `${tolerant.url}/deep`, { login: 'ahead-ok' });
  t.equal(page.status, 200, 'signed in');
  t.equal(page.url, `${tolerant.url}/deep`);
  const refreshes = idp.counters.refreshToken;
  for (let i = 0; i < 5; i++) {
    const res = await browser.fetch(`${tolerant.url}/api/orders/${i}`, { headers: XHR });
    t.equal(res.status, 200);
    await res.arrayBuffer();
  }
  t.equal(idp.counters.refreshToken, refreshes, 'no refresh storm');
});
