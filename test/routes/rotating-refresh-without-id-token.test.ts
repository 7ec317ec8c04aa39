// One-time-use refresh tokens keep working when refresh responses carry neither id_token nor client_info.
//
// Issue 12 item 3: MSAL filed the new access and refresh tokens of such a response under an empty
// home_account_id, so the next refresh sent the spent refresh token and the provider refused it.
// renewWindow 1 with 300 s tokens: a token is due for renewal once issued (MSAL's fixed window); MSAL
// rounds its timestamps to whole seconds, so a token counts as issued up to 0.5 s late: calls 0.6 s apart.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { KeyedStore, startWorld, XHR } from '../helpers/world.js';

const REFRESHES = 6;

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: ${REFRESHES} rotations without id_token`, async (t) => {
    const store = new KeyedStore(1000);
    t.teardown(() => store.close());
    const aw = await startWorld(t, {
      idp: {
        mode,
        apiScopes: ['api://orders/read'],
        accessTokenTTL: 300,
        rotateRefreshToken: true,
        refreshWithoutIdToken: true,
      },
      apis: ['orders'], // the route /api/orders to the orders API
      config: { tokenCache: { renewWindow: 1 } },
      store,
    });
    const { idp } = aw;
    const { orders } = aw.apis;
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    t.equal((await signIn(browser, `${aw.url}/`, { login: 'rio' })).status, 200, 'signed in');

    const start = idp.counters.refreshToken;
    const jtis = new Set<unknown>();
    for (let i = 0; i < REFRESHES; i++) {
      await sleep(600);
      const res = await browser.fetch(`${aw.url}/api/orders/${i}`, { headers: XHR });
      t.equal(res.status, 200, `call ${i} answered`);
      t.equal(orders.requests.at(-1)?.claims?.sub, 'rio', `call ${i}: a verified token`);
      jtis.add(orders.requests.at(-1)?.claims?.jti);
      t.equal(idp.counters.refreshToken - start, i + 1, `call ${i}: one refresh`);
    }
    t.equal(jtis.size, REFRESHES, 'a new token each time');
    t.equal(idp.counters.tokenErrors, 0, 'no refresh was refused (no spent refresh token sent)');

    const [key] = [...store.written].filter((k) => k.startsWith('acct:'));
    const blob = await store.get(key as string);
    const cache = JSON.parse(String(blob)) as Record<string, Record<string, { home_account_id: string }>>;
    const owner = (key as string).slice('acct:'.length);
    for (const section of ['AccessToken', 'RefreshToken', 'IdToken'] as const) {
      const entries = Object.entries(cache[section] ?? {});
      t.ok(
        entries.every(([k, e]) => e.home_account_id === owner && k.startsWith(`${owner.toLowerCase()}-`)),
        `every ${section} belongs to the partition's account`,
      );
    }
    t.equal(Object.keys(cache.RefreshToken ?? {}).length, 1, 'one refresh token: the latest');
  });
}
