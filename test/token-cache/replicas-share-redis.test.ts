// Replicas sharing Redis (standalone and Cluster): signed in on A, B gets route tokens with no new sign-in, and survives A.
import t from 'tap';
import { startRedis, startRedisCluster } from '../helpers/redis.js';
import { API_DEFS, call, listKeys, redisCache, startWorld, type Tap, type World } from '../helpers/world.js';

const PREFIX = 'replicas:';

async function twoReplicasShareOneCache(t: Tap, w: World, tokenCache: Record<string, unknown>) {
  const a = await w.start({ tokenCache });
  const b = await w.start({ tokenCache });
  const browser = await w.signIn('riley', { app: a });
  const idp = w.idp.counters;
  const before = { ...idp };

  // The sign-in's own access token is for the first consented API (orders); graph needs a refresh.
  const onB = await call(browser, `${b.url}${API_DEFS.graph.path}/me`);
  t.equal(onB.status, 200, 'replica B serves the route with the cookie set by A');
  t.equal(onB.body.sub, 'riley', "the API got riley's token");
  t.equal(idp.authorize, before.authorize, 'no new sign-in');
  t.equal(idp.authorizationCode, before.authorizationCode, "B's request redeemed no code");
  t.equal(idp.refreshToken - before.refreshToken, 1, "B minted the graph token with A's refresh token");
  t.equal(b.app.tokens.metrics.refreshes, 1, 'counted as a refresh on B');

  // A reads the partition B just refreshed: a store hit, no second refresh.
  const onA = await call(browser, `${a.url}${API_DEFS.graph.path}/me`);
  t.equal(onA.status, 200);
  t.equal(onA.body.sub, 'riley');
  t.equal(a.app.tokens.metrics.storeHits, 1, 'A found the fresh token B stored');
  t.equal(a.app.tokens.metrics.refreshes, 0, 'A did not refresh');
  t.equal(idp.refreshToken - before.refreshToken, 1, 'still one refresh in total');

  await a.close();
  const orders = await call(browser, `${b.url}${API_DEFS.orders.path}/items`);
  t.equal(orders.status, 200, 'with A gone, B still serves: the token A got at sign-in, from the store');
  t.equal(orders.body.sub, 'riley');
  const bench = await call(browser, `${b.url}${API_DEFS.bench.path}/x`);
  t.equal(bench.status, 200, 'and a route nobody used yet (a refresh with the shared refresh token)');
  t.equal(bench.body.aud, API_DEFS.bench.audience);
  t.equal(idp.authorize, before.authorize, 'still no new sign-in');
  t.equal(idp.authorizationCode, before.authorizationCode, 'still no code redemption');
  t.equal(idp.tokenErrors, before.tokenErrors, 'no token endpoint errors');
}

const world = await startWorld(t, { apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });

t.test('standalone Redis', async (t) => {
  const w = world;
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  await twoReplicasShareOneCache(t, w, redisCache(w, redis.url, PREFIX));
});

t.test('Redis Cluster, 3 masters', async (t) => {
  const w = world;
  const cluster = await startRedisCluster({ masters: 3 });
  t.teardown(() => cluster.stop());
  await twoReplicasShareOneCache(t, w, redisCache(w, cluster.nodes, PREFIX));
  const keys = await listKeys(cluster.client(), PREFIX);
  t.equal(keys.filter((k) => k.startsWith('acct:')).length, 1, 'one partition, written through the cluster');
  t.equal(keys.filter((k) => k.startsWith('sess:')).length, 1, 'one session record');
});
