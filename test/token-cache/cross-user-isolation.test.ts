// Two users' interleaved concurrent requests on one process: every token reaches only its own user, every partition holds only its own account.
import { decodeJwt } from 'jose';
import t from 'tap';
import { startRedis } from '../helpers/redis.js';
import {
  API_DEFS,
  type ApiName,
  call,
  listKeys,
  type MsalCache,
  readPartition,
  redisCache,
  startWorld,
} from '../helpers/world.js';

const PREFIX = 'iso:';
const USERS = ['alice', 'bob'] as const;
const ROUNDS = 15; // x 2 users x 3 routes = 90 concurrent requests
const SECTIONS = ['Account', 'AccessToken', 'RefreshToken', 'IdToken'] as const;

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: alice and bob, interleaved, never see each other's tokens`, async (t) => {
    const w = await startWorld(t, {
      idp: { mode },
      apis: ['orders', 'graph', 'bench'],
      cookieScope: 'host',
      app: false,
    });
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    // An L1 of one entry: the two users evict each other, so nearly every request goes through the
    // store and a fresh per-account MSAL client, the path where a shared client leaked across users.
    const app = await w.start({
      tokenCache: redisCache(w, redis.url, PREFIX, { l1MaxEntries: 1 }),
    });
    const browsers = {
      alice: await w.signIn('alice', { app: app }),
      bob: await w.signIn('bob', { app: app }),
    };
    const apiNames = Object.keys(API_DEFS) as ApiName[];

    // Interleaved: alice, bob, alice, bob... over the three routes, all in flight at once; the first
    // graph and bench requests of each user refresh while the other user's requests run.
    const jobs = Array.from({ length: ROUNDS }, (_, round) =>
      apiNames.flatMap((api) =>
        USERS.map((user) => ({ user, api, path: `${API_DEFS[api].path}/${user}-${round}` })),
      ),
    ).flat();
    const results = await Promise.all(jobs.map((j) => call(browsers[j.user], `${app.url}${j.path}`)));

    t.same(
      results.map((r) => r.status),
      jobs.map(() => 200),
      `all ${jobs.length} requests answered`,
    );
    const wrong = results.filter((r, i) => r.body.sub !== jobs[i]?.user);
    t.equal(wrong.length, 0, "every response carries the token of the cookie's user");
    for (const api of apiNames) {
      const seen = w.apis[api].requests.filter((r) => /\/(alice|bob)-\d+$/.test(r.url));
      t.equal(seen.length, ROUNDS * USERS.length, `${api}: every request arrived`);
      const mismatched = seen.filter((r) => r.claims?.sub !== /\/(alice|bob)-\d+$/.exec(r.url)?.[1]);
      t.same(
        mismatched.map((r) => r.url),
        [],
        `${api}: each token's sub is the requesting user`,
      );
    }
    const m = app.app.tokens.metrics;
    t.ok(m.storeHits + m.refreshes >= jobs.length / 2, `the store path was exercised (${JSON.stringify(m)})`);

    // The partitions as Redis holds them.
    const client = redis.client();
    const accts = (await listKeys(client, PREFIX)).filter((k) => k.startsWith('acct:'));
    t.equal(accts.length, 2, 'one partition per user');
    const owners = new Map<string, string>();
    for (const key of accts) {
      const id = key.slice('acct:'.length);
      const cache: MsalCache = await readPartition(client, PREFIX, key, w.cacheKey);
      const subs = Object.values(cache.IdToken ?? {}).map((e) => decodeJwt(String(e.secret)).sub);
      const who = `${subs[0]}'s partition`;
      t.equal(new Set(subs).size, 1, `${who}: ID tokens of one subject`);
      for (const section of SECTIONS) {
        const entries = Object.values(cache[section] ?? {});
        t.ok(entries.length > 0, `${who}: has ${section} entries`);
        t.same(
          [...new Set(entries.map((e) => e.home_account_id))],
          [id],
          `${who}: every ${section} entry belongs to its key's homeAccountId`,
        );
      }
      const ats = Object.values(cache.AccessToken ?? {});
      for (const api of apiNames) {
        t.ok(
          ats.some((e) => (e.target ?? '').includes(API_DEFS[api].scope)),
          `${who}: holds its ${api} token`,
        );
      }
      t.same(
        [...new Set(ats.map((e) => decodeJwt(String(e.secret)).sub))],
        subs.slice(0, 1),
        `${who}: access tokens of that same subject`,
      );
      owners.set(String(subs[0]), id);
    }
    t.same([...owners.keys()].sort(), [...USERS], 'one partition is alice’s, the other bob’s');
    if (mode === 'aad') {
      t.equal(
        owners.get('alice'),
        `${w.idp.oidFor('alice')}.${w.idp.tenantId}`,
        'aad: homeAccountId is oid.tid',
      );
    }
  });
}
