// The memory store is bounded: the least recently used account is evicted (that user signs in again) and entries expire after tokenCache.ttl.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { API_DEFS, call, startWorld } from '../helpers/world.js';

const w = await startWorld(t, { apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });

t.test('maxEntries: the least recently used account goes, the others stay', async (t) => {
  // A signed-in session takes two entries: its account partition and its session record. Four
  // entries hold two users; the third sign-in evicts the first one's two.
  const app = await w.start({ tokenCache: { type: 'memory', maxEntries: 4 } });
  const first = await w.signIn('uma', { app: app });
  const second = await w.signIn('vic', { app: app });
  const third = await w.signIn('wes', { app: app });
  const graph = (b: typeof first) => call(b, `${app.url}${API_DEFS.graph.path}/x`);

  t.equal((await graph(third)).status, 200, 'the newest user is served');
  t.equal((await graph(second)).status, 200, 'so is the second');
  t.equal(app.app.tokens.metrics.misses, 0, 'no miss so far');

  const evicted = await graph(first);
  t.equal(evicted.status, 401, 'the first user was evicted: 401, sign in again (no crash)');
  t.equal(evicted.body.error, 'unauthenticated');
  t.equal(app.app.tokens.metrics.misses, 1, 'metrics: counted as a miss');
  const page = await first.fetch(`${app.url}/`, {
    headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
  });
  t.equal(page.status, 302, 'a page load sends them to sign in');
  t.match(page.headers.get('location'), w.idp.discovery.authorization_endpoint);

  const back = await w.signIn('uma', { app: app });
  t.equal((await graph(back)).status, 200, 'after signing in again they are served');
});

t.test('ttl: entries vanish after tokenCache.ttl', async (t) => {
  const app = await w.start({ tokenCache: { type: 'memory', ttl: 1 } });
  const browser = await w.signIn('yan', { app: app });
  const graph = await call(browser, `${app.url}${API_DEFS.graph.path}/x`);
  t.equal(graph.status, 200, 'within the ttl: a refresh from the partition');
  await sleep(1100);
  const orders = await call(browser, `${app.url}${API_DEFS.orders.path}/x`);
  t.equal(orders.status, 401, 'after the ttl the partition is gone: sign in again');
  t.equal(app.app.tokens.metrics.misses, 1, 'metrics: counted as a miss');
});
