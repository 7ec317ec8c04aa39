// Redis black-holed (a fault proxy stops forwarding; the TCP connection stays open): requests that need it
// get 503 after one command timeout (the first) or at once (the next), the rest keep working, and
// everything heals when it flows again. Waits are counted (the store's timeout counter), not timed.
import t from 'tap';
import { RedisStore } from '../../src/token-cache/redis-store.js';
import { testConfig } from '../helpers/config.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startRedis } from '../helpers/redis.js';
import { API_DEFS, call, readyz, redisCache, startWorld, until } from '../helpers/world.js';

const COMMAND_TIMEOUT = 1;

// An unhandled rejection would crash the proxy in production.
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

const w = await startWorld(t, { apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });
const redis = await startRedis();
t.teardown(() => redis.stop());
const fp = await startFaultProxy({ target: { port: redis.port } });
t.teardown(() => fp.close());
const tokenCache = redisCache(w, `redis://127.0.0.1:${fp.port}`, 'stall:', {
  commandTimeout: COMMAND_TIMEOUT,
  connectTimeout: 1,
});
const store = new RedisStore(testConfig({ tokenCache }).tokenCache);
t.teardown(() => store.close());
const app = await w.start({ tokenCache }, { store: store });
const browser = await w.signIn('stella', { app: app });
const route = (api: keyof typeof API_DEFS) => call(browser, `${app.url}${API_DEFS[api].path}/x`);

t.test('stalled: 503 after one command timeout where Redis is needed, then at once', async (t) => {
  t.equal((await route('orders')).status, 200, 'orders token acquired (now in the in-process cache)');
  fp.stall();
  t.teardown(() => fp.resume());
  let timeouts = store.metrics.timeouts;
  const needsStore = await route('graph');
  t.equal(needsStore.status, 503, 'a token not cached in-process: 503');
  t.equal(needsStore.body.error, 'token_store_unavailable');
  t.equal(store.metrics.timeouts - timeouts, 1, 'after one command timeout, not a hang');
  t.equal((await readyz(app)).tokenStore, 'down', 'the store is reported down from then on');
  timeouts = store.metrics.timeouts;
  const again = await route('bench');
  t.equal(again.status, 503, 'still stalled: 503 again');
  t.equal(store.metrics.timeouts - timeouts, 0, 'at once: no second wait');
  t.equal((await route('orders')).status, 200, 'the cached token still works');
  t.equal(
    (await call(browser, `${app.url}/app`)).status,
    200,
    'so does the upstream (session record cached)',
  );
  t.equal(
    (await readyz(app)).status,
    200,
    'readiness stays 200: a shared dependency never unreadies a replica',
  );
});

t.test('flowing again: heals by itself, same session', async (t) => {
  fp.resume();
  const since = performance.now();
  await until('the graph route to work again', async () => (await route('graph')).status === 200, 10_000);
  t.comment(`healed ${Math.round(performance.now() - since)} ms after Redis flowed again`);
  t.equal((await route('graph')).body.sub, 'stella');
  t.equal((await route('bench')).status, 200);
  await until('readyz to report the store up', async () => (await readyz(app)).tokenStore === 'up');
  t.equal(w.idp.counters.authorize, 1, 'no new sign-in was needed');
  t.equal(app.app.tokens.metrics.refreshFailures, 0, 'no refresh failed: the grant was never torn down');
  t.same(unhandled, [], 'no unhandled rejection');
});
