// After a sign-out on replica A, replica B serves the token it holds in its L1 for at most tokenCache.l1Ttl.
//
// The documented bound: a replica does not ask Redis about a token it holds in memory, so a
// sign-out elsewhere reaches it only when the L1 entry ends (l1Ttl). Here l1Ttl is 1 s while
// session.revocationCheckInterval keeps its 30 s default, so B still trusts its copy of the session
// record: what ends the token is the L1 bound alone.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { startRedis } from '../helpers/redis.js';
import { API_DEFS, call, logout, redisCache, startWorld } from '../helpers/world.js';

const L1_TTL = 1;

t.test('a sign-out on A reaches B’s L1 within l1Ttl', async (t) => {
  const w = await startWorld(t, { apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const tokenCache = redisCache(w, redis.url, 'l1:', { l1Ttl: L1_TTL });
  const a = await w.start({ tokenCache });
  const b = await w.start({ tokenCache });
  const browser = await w.signIn('quinn', { app: a });
  const onB = (headers: Record<string, string> = {}) =>
    call(browser, `${b.url}${API_DEFS.graph.path}/x`, headers);

  const first = await onB();
  const cachedAt = performance.now();
  t.equal(first.status, 200, 'B acquired the token (now in its L1)');
  t.equal(b.app.tokens.metrics.refreshes, 1);

  // Sign out on A; the browser's cookie is cleared, so replay the copy taken before (as a second tab
  // or a stolen cookie would): what B does with it is the point.
  const cookie = browser.cookieHeader(b.url) as string;
  t.equal(await logout(browser, a), 302, 'signed out on A');
  const within = await onB({ cookie });
  const age = performance.now() - cachedAt;
  t.equal(within.status, 200, `within the bound (${Math.round(age)} ms) B may still serve from its L1`);
  t.equal(b.app.tokens.metrics.l1Hits, 1, '...and it did, from the L1');

  await sleep(Math.max(0, L1_TTL * 1000 + 100 - (performance.now() - cachedAt)));
  const after = await onB({ cookie });
  t.equal(after.status, 401, `after l1Ttl (${L1_TTL} s) B no longer serves the token: sign in again`);
  t.equal(after.body.error, 'unauthenticated');
  t.equal(b.app.tokens.metrics.misses, 1, 'B looked in Redis and found the partition deleted');
  t.equal(b.app.tokens.metrics.l1Hits, 1, 'no further L1 hit');
});
