// Sign-out deletes the account's partition and the session record from Redis (DEL, no empty shell); every key has a TTL.
import t from 'tap';
import { startRedis } from '../helpers/redis.js';
import { API_DEFS, call, listKeys, logout, redisCache, startWorld } from '../helpers/world.js';

const PREFIX = 'purge:';

t.test('logout purges the account from Redis', async (t) => {
  const w = await startWorld(t, { apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const raw = redis.client();
  const app = await w.start({ tokenCache: redisCache(w, redis.url, PREFIX) });
  const browser = await w.signIn('lou', { app: app });
  const other = await w.signIn('max', { app: app });
  for (const api of ['orders', 'graph'] as const) {
    t.equal((await call(browser, `${app.url}${API_DEFS[api].path}/x`)).status, 200, `lou: ${api} token`);
  }
  t.equal((await call(other, `${app.url}${API_DEFS.graph.path}/x`)).status, 200, 'max: graph token');

  const keys = await listKeys(raw, PREFIX);
  t.same(
    keys.map((k) => k.replace(/:.*/, ':')).sort(),
    ['acct:', 'acct:', 'sess:', 'sess:'],
    'two partitions, two session records, no lock left behind',
  );
  for (const key of keys) {
    const pttl = await raw.pttl(PREFIX + key);
    t.ok(pttl > 0, `${key.slice(0, 12)}…: expires (PTTL ${pttl} ms)`);
  }
  const lou = keys.find((k) => k === 'acct:lou') as string;
  t.ok(lou, "lou's partition is acct:<homeAccountId>");
  const sessionsBefore = keys.filter((k) => k.startsWith('sess:'));

  const stolen = browser.cookieHeader(app.url) as string; // a copy of the cookie, replayed after logout
  t.equal(await logout(browser, app), 302, 'logout answers with a redirect');

  const after = await listKeys(raw, PREFIX);
  t.equal(await raw.exists(PREFIX + lou), 0, "lou's partition is gone (DEL, not an emptied entry)");
  const gone = sessionsBefore.filter((k) => !after.includes(k));
  t.equal(gone.length, 1, "lou's session record is gone");
  t.same(
    after.sort(),
    ['acct:max', ...sessionsBefore.filter((k) => after.includes(k))].sort(),
    "only max's partition and session record remain",
  );
  for (const key of after) t.ok((await raw.pttl(PREFIX + key)) > 0, `${key.slice(0, 12)}…: still expires`);

  const replayed = await call(browser, `${app.url}${API_DEFS.orders.path}/x`, { cookie: stolen });
  t.equal(replayed.status, 401, 'a copy of the old cookie gets no token: the session is revoked server-side');
  t.equal((await call(other, `${app.url}${API_DEFS.orders.path}/x`)).status, 200, 'max is unaffected');
});
