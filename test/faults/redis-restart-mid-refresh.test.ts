// Redis going away in the middle of a token refresh: the refresh lock it leaves behind (its release failed)
// must not stall the account's next refresh until the lock expires (15 s): it is released once Redis is back.
//
// Found by the soak run: one token request took 13.8 s after the Redis restart. Two ways to lose a
// release: Redis down when it is sent, and Redis black-holed (the refreshed tokens' write times out, so the
// store fails fast and the release is kept) until the connection drops and comes straight back.
//
// Deterministic: each refresh A starts on a route whose token nobody holds yet (a refresh under the lock
// for sure), the fault is injected once A's request to the provider is on the wire (every store read
// before it is done), and the test then waits for what the proxy reports (store down, up), never for time.
import t from 'tap';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startRedis } from '../helpers/redis.js';
import {
  API_DEFS,
  call,
  nextTokenRequest,
  readyz,
  redisCache,
  startWorld,
  type Tap,
  until,
} from '../helpers/world.js';

const PREFIX = 'restart:';
// Longer than injecting the fault takes (a SIGKILL, a flag), shorter than the provider timeout (5 s).
const PROVIDER_DELAY = 1500;

const w = await startWorld(t, { apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });
// AOF with fsync on every write: the lock survives the crash, as it would with a persistent Redis.
const redis = await startRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
t.teardown(() => redis.stop());
const fp = await startFaultProxy({ target: { port: redis.port } });
t.teardown(() => fp.close());
const app = await w.start({
  tokenCache: redisCache(w, `redis://127.0.0.1:${fp.port}`, PREFIX, { commandTimeout: 1, connectTimeout: 1 }),
  identity: { timeout: 5 },
});
const browser = await w.signIn('rhea', { app: app });
const route = (api: keyof typeof API_DEFS) => call(browser, `${app.url}${API_DEFS[api].path}/x`);
const raw = redis.client();
const locks = async () => (await raw.keys(`${PREFIX}lock:*`)).length;
const metrics = app.app.tokens.metrics;

/** Starts refresh A on `api` (no token for it yet) and resolves once its provider call is on the wire. */
async function startRefreshA(t: Tap, api: keyof typeof API_DEFS) {
  w.idp.setResponseDelay(PROVIDER_DELAY);
  t.teardown(() => w.idp.setResponseDelay(0));
  const sent = nextTokenRequest();
  const a = route(api);
  await sent;
  t.equal(await locks(), 1, "refresh A holds the account's lock");
  return { a }; // wrapped: returning the promise itself would make the caller wait for A
}

/** Refresh B, once Redis is back: served without waiting for the lock A left behind. */
async function refreshB(t: Tap, api: keyof typeof API_DEFS, failuresBefore: number) {
  await until('the store to be up again', async () => (await readyz(app)).tokenStore === 'up');
  const waits = metrics.lockWaits;
  const b = await route(api);
  t.equal(b.status, 200, 'refresh B: 200');
  t.equal(b.body.sub, 'rhea');
  t.equal(metrics.lockWaits, waits, 'refresh B did not wait for a lock (the orphaned one was released)');
  t.equal(metrics.refreshFailures - failuresBefore, 1, 'only refresh A failed');
}

t.test('Redis crashes (lock persisted) while a refresh holds the lock', async (t) => {
  t.equal((await route('orders')).status, 200, 'a token route works');
  const failures = metrics.refreshFailures;
  const { a } = await startRefreshA(t, 'graph');
  await redis.kill();
  const failed = await a;
  w.idp.setResponseDelay(0);
  t.equal(failed.status, 503, 'refresh A: 503 (its result could not be stored)');
  await redis.restart();
  await refreshB(t, 'graph', failures);
});

t.test('Redis black-holed while a refresh holds the lock; the connection drops and comes back', async (t) => {
  const failures = metrics.refreshFailures;
  const { a } = await startRefreshA(t, 'bench');
  fp.stall(); // A's write of the refreshed tokens goes into a black hole and times out
  t.teardown(() => fp.resume());
  await until(
    'the store to report down (the write timed out)',
    () => app.app.readiness.dependency('tokenStore') === 'down',
  );
  const failed = await a; // its release failed at once (the store fails fast): kept for later
  w.idp.setResponseDelay(0);
  t.equal(failed.status, 503, 'refresh A: 503');
  t.equal(await locks(), 1, 'the lock is still in Redis');
  fp.cutAll(); // the connection drops ...
  fp.resume(); // ... and Redis is reachable again right away
  await until('the orphaned lock to be released', async () => (await locks()) === 0);
  await refreshB(t, 'bench', failures);
});
