// Redis slow (300 ms added each way by a fault proxy, under a 1 s command timeout): every request still
// succeeds, only slower; the store stays "up".
import t from 'tap';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startRedis } from '../helpers/redis.js';
import { API_DEFS, call, readyz, redisCache, startWorld } from '../helpers/world.js';

const LATENCY = 300; // one way: a command's round trip takes at least 600 ms

// 300 s access tokens, renewWindow 1 (MSAL's fixed 300 s): every acquisition is a refresh under the
// store's lock (the most round trips a request can make), and none is served from the in-process cache.
const w = await startWorld(t, {
  idp: { accessTokenTTL: 300 },
  apis: ['orders', 'graph', 'bench'],
  cookieScope: 'host',
  app: false,
});
const redis = await startRedis();
t.teardown(() => redis.stop());
const fp = await startFaultProxy({ target: { port: redis.port } });
t.teardown(() => fp.close());
const app = await w.start({
  tokenCache: redisCache(w, `redis://127.0.0.1:${fp.port}`, 'slow:', {
    commandTimeout: 1,
    connectTimeout: 2,
    renewWindow: 1,
  }),
  // Session records re-read from Redis on (almost) every request, too.
  session: { revocationCheckInterval: 0.001 },
});
const browser = await w.signIn('sloane', { app: app });
const orders = () => call(browser, `${app.url}${API_DEFS.orders.path}/x`);
const page = () => call(browser, `${app.url}/app/page`);

t.test('fast Redis: the baseline', async (t) => {
  const [r, p] = [await orders(), await page()];
  t.equal(r.status, 200, `token route ${Math.round(r.ms)} ms`);
  t.equal(p.status, 200, `upstream page ${Math.round(p.ms)} ms`);
});

t.test(`${LATENCY} ms each way: still 200, only slower`, async (t) => {
  fp.setLatency(LATENCY);
  t.teardown(() => fp.setLatency(0));
  const refreshes = app.app.tokens.metrics.refreshes;
  const p = await page();
  t.equal(p.status, 200, `upstream page (session record read): ${Math.round(p.ms)} ms`);
  t.ok(p.ms >= 2 * LATENCY * 0.95, 'it did wait for Redis');
  const r = await orders();
  t.equal(r.status, 200, `token route (record, read, lock, re-read, write, unlock): ${Math.round(r.ms)} ms`);
  t.ok(r.ms >= 6 * 2 * LATENCY * 0.95, 'six round trips, each under the command timeout');
  t.equal(r.body.sub, 'sloane');
  t.equal(app.app.tokens.metrics.refreshes - refreshes, 1, 'the token call refreshed under the lock');
  t.equal(app.app.tokens.metrics.refreshFailures, 0);
  t.same(await readyz(app), { status: 200, tokenStore: 'up' }, 'the store is still up');
});
