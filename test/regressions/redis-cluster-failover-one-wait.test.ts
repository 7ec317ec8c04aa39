// Redis Cluster failover (3 masters + 3 replicas, the master of our keys killed): a request waits for at
// most one command timeout in all, and the token store's reported status (readiness, which
// authward_dependency_up reads) is "down" while requests get token_store_unavailable, "up" again after.
//
// Before: the first request after the kill waited the command timeout on the dead master twice (its
// session record was due for a recheck: the read timed out and the stale record was used; then the token
// read timed out too), and the status stayed "up" throughout: the cluster client never closes while the
// other masters answer. Counted, not timed: the store's own timeout counter, per sequential request.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Gauge } from 'prom-client';
import t from 'tap';
import { RedisStore } from '../../src/token-cache/redis-store.js';
import type { StoreStatus } from '../../src/token-cache/store.js';
import { testConfig } from '../helpers/config.js';
import { startRedisCluster } from '../helpers/redis.js';
import { API_DEFS, call, redisCache, startWorld } from '../helpers/world.js';

const TRUST_S = 2; // session.revocationCheckInterval: a record read within 5x this is used while the store fails
// A hash tag puts every key in one slot: every store command of a request goes to the master we kill.
const PREFIX = 'failover{one}:';

const w = await startWorld(t, { apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });
// A node timeout well above two command timeouts: the replica cannot take over between a request's two
// reads, so a second wait (before the fix) is certain, not a matter of scheduling.
const cluster = await startRedisCluster({ masters: 3, replicas: 1, nodeTimeoutMs: 4000 });
t.teardown(() => cluster.stop());
const tokenCache = redisCache(w, cluster.nodes, PREFIX, { commandTimeout: 1, connectTimeout: 1 });
const store = new RedisStore(testConfig({ tokenCache }).tokenCache);
t.teardown(() => store.close());
const events: { status: StoreStatus; at: number }[] = [];
store.onStatus((status) => events.push({ status, at: performance.now() }));
const app = await w.start(
  {
    tokenCache,
    session: { revocationCheckInterval: TRUST_S },
    metrics: { enabled: true, host: '127.0.0.1', port: 0 },
  },
  { store: store },
);
// At each transition (after the app's own listener updated readiness), what the metric says. A gauge
// collects synchronously when read, so this is its value at that very moment.
const gauge = app.app.metrics?.registry.getSingleMetric('authward_dependency_up') as Gauge | undefined;
const metricAt: { status: StoreStatus; up: number | undefined }[] = [];
store.onStatus((status) => {
  void gauge?.get().then(({ values }) => {
    metricAt.push({ status, up: values.find((v) => v.labels.dependency === 'tokenStore')?.value });
  });
});
const browser = await w.signIn('fay', { app: app });
const route = (api: keyof typeof API_DEFS) => call(browser, `${app.url}${API_DEFS[api].path}/x`);

/** The store's status at `at` (the last event before it). */
const statusAt = (at: number) => events.filter((e) => e.at <= at).at(-1)?.status;
/** Whether the store reported 'down' at any moment within [from, to]. */
const downWithin = (from: number, to: number) =>
  statusAt(from) === 'down' || events.some((e) => e.status === 'down' && e.at >= from && e.at <= to);

t.test('the master of our keys is killed; a replica takes over', async (t) => {
  t.equal((await route('orders')).status, 200, 'a route works (session record and tokens in the cluster)');
  t.equal(statusAt(performance.now()), 'up');
  const master = await cluster.masterFor(PREFIX);
  await sleep(TRUST_S * 1000 + 100); // the record's trust lapses: the next request rechecks it in the store
  const authorizeBefore = w.idp.counters.authorize;
  await master.kill();
  const killedAt = performance.now();

  const results: { status: number; error: unknown; timeouts: number; from: number; to: number }[] = [];
  for (;;) {
    const timeouts = store.metrics.timeouts;
    const from = performance.now();
    // graph: a token not in the in-process cache yet (until a call succeeds), so read from the store
    const r = await route('graph');
    const to = performance.now();
    results.push({
      status: r.status,
      error: r.body.error,
      timeouts: store.metrics.timeouts - timeouts,
      from,
      to,
    });
    if (r.status === 200) break;
    if (results.length > 400) throw new Error(`no recovery: ${JSON.stringify(results.slice(-3))}`);
    await sleep(25); // sequential requests, so each request's timeouts are its own
  }
  const failed = results.slice(0, -1);
  const recovered = results.at(-1) as (typeof results)[number];
  t.comment(
    `${failed.length} requests failed, then 200; timeouts per request: ${results.map((r) => r.timeouts).join(',')}`,
  );
  t.ok(failed.length > 0, 'the outage was seen');
  t.same(
    failed.filter((r) => r.status !== 503 || r.error !== 'token_store_unavailable'),
    [],
    'every failed request: 503 token_store_unavailable',
  );
  t.equal(results[0]?.timeouts, 1, 'the first request waited for the dead master once');
  t.same(
    results.filter((r) => r.timeouts > 1).map((r) => r.timeouts),
    [],
    'no request waited for more than one command timeout',
  );

  t.ok(
    events.some((e) => e.status === 'down' && e.at >= killedAt),
    'the store reported down after the kill',
  );
  t.same(
    failed.filter((r) => !downWithin(r.from, r.to)),
    [],
    'the store was down while each of those requests failed',
  );
  t.equal(statusAt(recovered.to), 'up', 'up again by the time a request succeeds');
  t.equal(app.app.readiness.dependency('tokenStore'), 'up', 'readiness says up again');
  t.same(
    metricAt,
    [
      { status: 'up', up: 1 },
      { status: 'down', up: 0 },
      { status: 'up', up: 1 },
    ],
    'authward_dependency_up{dependency="tokenStore"} followed: 1, 0 during the outage, 1 again',
  );
  t.equal(w.idp.counters.authorize, authorizeBefore, 'nobody was signed out');
  t.not(await cluster.failedOver(PREFIX, master), master, 'a replica serves the keys now');
});
