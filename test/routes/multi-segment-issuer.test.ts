// A fresh token in the account's partition is used without a provider call, whatever the issuer's path.
//
// Issue 12 item 2: with an issuer of 2+ path segments (Keycloak /realms/main, Okta /oauth2/default)
// and an ID token without tid/tfp/acr, MSAL Node stores an access token under realm = the first path
// segment and looks it up under realm = the last one: every acquisition past the L1 was a refresh.
// Replicas sharing one store have separate L1s, so a second replica's first call reads the partition.
import t from 'tap';
import { MemoryStore } from '../../src/token-cache/memory-store.js';
import { call, startWorld } from '../helpers/world.js';

for (const issuerPath of ['', '/realms/main', '/api/oidc', '/oauth2/default']) {
  t.test(`issuer path "${issuerPath}"`, async (t) => {
    const w = await startWorld(t, {
      idp: { issuerPath },
      apis: ['orders', 'graph', 'bench'],
      cookieScope: 'host',
      app: false,
    });
    t.equal(new URL(w.idp.issuer).pathname.replace(/\/$/, ''), issuerPath, 'the issuer has that path');
    const store = new MemoryStore({ maxEntries: 1000 });
    t.teardown(() => store.close());
    const [a, b, c] = [
      await w.start({}, { store: store }),
      await w.start({}, { store: store }),
      await w.start({}, { store: store }),
    ];
    const browser = await w.signIn('kim', { app: a });
    const grants = () => w.idp.counters.refreshToken;

    for (const api of ['orders', 'graph', 'bench'] as const) {
      const before = grants();
      const first = await call(browser, `${a.url}/api/${api}/1`);
      t.equal(first.status, 200, `${api}: replica A answered`);
      t.ok(grants() - before <= 1, `${api}: at most one refresh for the first token`);
      const minted = grants();
      for (const [name, replica] of [
        ['B', b],
        ['C', c],
      ] as const) {
        const res = await call(browser, `${replica.url}/api/${api}/2`);
        t.equal(res.status, 200, `${api}: replica ${name} answered`);
        t.equal(res.body.sub, 'kim');
        t.equal(grants(), minted, `${api}: replica ${name} used the stored token (no provider call)`);
      }
    }
    t.equal(b.app.tokens.metrics.refreshes, 0, 'replica B never refreshed');
    t.equal(b.app.tokens.metrics.storeHits, 3, 'replica B: three store hits');
    t.equal(w.idp.counters.tokenErrors, 0);
  });
}
