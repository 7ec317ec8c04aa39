// Redis down or frozen: L1 tokens keep working, the rest fails fast with 503 JSON, readiness stays 200, and all heals by itself.
import t from 'tap';
import { startRedis } from '../helpers/redis.js';
import { API_DEFS, call, readyz, redisCache, startWorld, until } from '../helpers/world.js';

const COMMAND_TIMEOUT = 0.5;
const CONNECT_TIMEOUT = 0.5;
// Failing fast: well under a second while the server is gone, about commandTimeout while it is frozen.
const GONE_MS = 300;
const FROZEN_MS = COMMAND_TIMEOUT * 1000 + 400;

// An outage must never surface as an unhandled rejection (that would crash the proxy).
const unhandled: unknown[] = [];
process.on('unhandledRejection', (reason) => unhandled.push(reason));

t.test('outage, recovery, freeze, thaw', async (t) => {
  const w = await startWorld(t, { apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });
  // Persistence on, so a restart brings the sessions back as a real Redis with AOF would.
  const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
  t.teardown(() => redis.stop());
  const app = await w.start({
    tokenCache: redisCache(w, redis.url, 'outage:', {
      commandTimeout: COMMAND_TIMEOUT,
      connectTimeout: CONNECT_TIMEOUT,
    }),
  });
  const browser = await w.signIn('olive', { app: app });
  const route = (api: keyof typeof API_DEFS) => call(browser, `${app.url}${API_DEFS[api].path}/x`);
  t.equal((await route('orders')).status, 200, 'orders token acquired (now in L1)');
  t.same(await readyz(app), { status: 200, tokenStore: 'up' });

  // ---- Redis gone.
  await redis.kill();
  await until('readyz to report the token store down', async () => (await readyz(app)).tokenStore === 'down');
  t.equal((await readyz(app)).status, 200, 'readyz stays 200: a shared dependency never unreadies a replica');

  const inL1 = await route('orders');
  t.equal(inL1.status, 200, 'a token in L1 still works');
  t.equal(inL1.body.sub, 'olive');

  const needsStore = await route('graph');
  t.equal(needsStore.status, 503, 'a token not in L1: 503');
  t.equal(needsStore.body.error, 'token_store_unavailable');
  t.equal(needsStore.body.message, 'token store unavailable, try again shortly');
  t.ok(needsStore.ms < GONE_MS, `...at once (${Math.round(needsStore.ms)} ms)`);

  const pub = await browser.fetch(`${app.url}/public/page`);
  t.equal(pub.status, 200, 'public routes keep working');
  t.equal((await fetch(`${app.url}/healthz`)).status, 200, 'liveness too');

  // ---- Redis back (same data): heals without any help.
  await redis.restart();
  let since = performance.now();
  await until('readyz to report the token store up', async () => (await readyz(app)).tokenStore === 'up');
  t.comment(`reconnected ${Math.round(performance.now() - since)} ms after redis-server was back`);
  const healed = await route('graph');
  t.equal(healed.status, 200, 'after the restart the same request works, same session');
  t.equal(healed.body.sub, 'olive');

  // ---- Redis frozen (SIGSTOP): connections stay open, nothing answers.
  redis.freeze();
  const frozen = await route('bench');
  t.equal(frozen.status, 503, 'frozen: a request needing the store gets 503');
  t.equal(frozen.body.error, 'token_store_unavailable');
  t.ok(frozen.ms < FROZEN_MS, `...within about commandTimeout (${Math.round(frozen.ms)} ms)`);
  t.equal((await route('orders')).status, 200, 'frozen: the L1 token still works');
  redis.thaw();
  since = performance.now();
  await until('the bench route to work again', async () => (await route('bench')).status === 200);
  t.comment(`serving from the store again ${Math.round(performance.now() - since)} ms after the thaw`);
  t.same(await readyz(app), { status: 200, tokenStore: 'up' }, 'thawed: up again');

  t.same(unhandled, [], 'no unhandled rejection');
  t.equal(app.app.tokens.metrics.refreshFailures, 0, 'no refresh failed: the session was never torn down');
});
