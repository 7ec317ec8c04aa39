// Proves the Redis store fails fast and heals by itself: server down, killed, restarted, frozen; and auth.
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { TokenCacheConfig } from '../../src/config/schema.js';
import { RedisStore } from '../../src/token-cache/redis-store.js';
import { StoreUnavailableError } from '../../src/token-cache/store.js';
import { freePort } from '../helpers/ports.js';
import { startRedis } from '../helpers/redis.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const CONNECT_TIMEOUT = 0.5;
const COMMAND_TIMEOUT = 0.3;
// A failing operation must settle within the connect plus command budget (and some scheduling slack).
const FAIL_FAST_MS = (CONNECT_TIMEOUT + COMMAND_TIMEOUT) * 1000 + 200;

// An outage must never surface as an unhandled rejection (that would crash the proxy).
process.on('unhandledRejection', (reason) => t.fail(`unhandled rejection: ${String(reason)}`));

function tokenCacheConfig(overrides: Partial<TokenCacheConfig> = {}): TokenCacheConfig {
  return {
    type: 'redis',
    keyPrefix: 'test:',
    ttl: 3600,
    maxEntries: 1000,
    connectTimeout: CONNECT_TIMEOUT,
    commandTimeout: COMMAND_TIMEOUT,
    l1Ttl: 30,
    renewWindow: 0.1,
    l1MaxEntries: 1000,
    ...overrides,
  };
}

interface Watched {
  store: RedisStore;
  statuses: string[];
  logs: { level: string; msg?: string }[];
  /** Resolves at the next time the store reports `status` (or now, if that is the latest report). */
  next(status: 'up' | 'down', timeoutMs?: number): Promise<void>;
}

function watchedStore(t: Tap, cfg: TokenCacheConfig): Watched {
  const logs: Watched['logs'] = [];
  const store = new RedisStore(cfg, {
    warn: (_obj, msg) => logs.push({ level: 'warn', msg }),
    info: (_obj, msg) => logs.push({ level: 'info', msg }),
  });
  t.teardown(() => store.close());
  const statuses: string[] = [];
  const waiters: { status: string; resolve: () => void }[] = [];
  store.onStatus((status) => {
    statuses.push(status);
    for (const w of waiters.filter((w) => w.status === status)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const next = (status: 'up' | 'down', timeoutMs = 5000) =>
    new Promise<void>((resolve, reject) => {
      if (statuses.at(-1) === status) return resolve();
      const timer = setTimeout(() => reject(new Error(`no '${status}' within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({
        status,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  return { store, statuses, logs, next };
}

/** Asserts `op` rejects with StoreUnavailableError (cause kept) within `withinMs`. */
async function failsFast(t: Tap, op: () => Promise<unknown>, withinMs: number, what: string) {
  const started = Date.now();
  const err = await op().then(
    () => undefined,
    (e: unknown) => e,
  );
  const took = Date.now() - started;
  t.ok(err instanceof StoreUnavailableError, `${what}: StoreUnavailableError`);
  t.match(err, { code: 'AW_TOKEN_STORE_UNAVAILABLE', statusCode: 503 });
  t.ok((err as Error).cause instanceof Error, `${what}: keeps the cause`);
  t.ok(took < withinMs, `${what}: failed in ${took} ms (< ${withinMs})`);
  return took;
}

/** Retries until `op` succeeds (the store heals by itself; nothing here reconnects it). */
async function eventually(op: () => Promise<unknown>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await op();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

t.test('redis down at start: no throw, one warning, fails fast, then comes up by itself', async (t) => {
  const port = await freePort();
  const w = watchedStore(t, tokenCacheConfig({ url: `redis://127.0.0.1:${port}` }));
  await w.next('down');
  await failsFast(t, () => w.store.get('k'), FAIL_FAST_MS, 'get');
  await failsFast(t, () => w.store.ping(), FAIL_FAST_MS, 'ping');
  await sleep(500); // several reconnect attempts
  t.same(w.logs, [{ level: 'warn', msg: 'token store unavailable' }], 'one log line, not one per attempt');

  const redis = await startRedis({ port });
  t.teardown(() => redis.stop());
  await w.next('up');
  await w.store.set('k', Buffer.from('v'), 60);
  t.same(await w.store.get('k'), Buffer.from('v'));
  t.same(w.statuses, ['down', 'up']);
  t.equal(w.logs.length, 2, 'one more line for coming back');
  t.ok(w.store.metrics.errors >= 2, 'failures counted');
});

t.test('killed and restarted', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const w = watchedStore(t, tokenCacheConfig({ url: redis.url }));
  await w.next('up');
  await w.store.set('k', Buffer.from('v'), 60);

  await redis.kill();
  await w.next('down', 2000);
  t.pass("'down' reported");
  await failsFast(t, () => w.store.get('k'), FAIL_FAST_MS, 'get');
  await failsFast(t, () => w.store.set('k', Buffer.from('v2'), 60), FAIL_FAST_MS, 'set');
  await failsFast(t, () => w.store.tryLock('k', 1000), FAIL_FAST_MS, 'tryLock');
  await failsFast(t, () => w.store.waitUnlocked('k', 1000), FAIL_FAST_MS, 'waitUnlocked');

  await redis.restart();
  await w.next('up');
  t.pass("'up' reported after restart, with no help");
  await w.store.set('k', Buffer.from('v3'), 60);
  t.same(await w.store.get('k'), Buffer.from('v3'), 'works again');
  t.same(w.statuses, ['up', 'down', 'up']);
});

t.test('frozen (SIGSTOP): commands time out, thaw recovers', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const w = watchedStore(t, tokenCacheConfig({ url: redis.url }));
  await w.next('up');
  await w.store.set('k', Buffer.from('v'), 60);

  redis.freeze();
  const took = await failsFast(t, () => w.store.get('k'), COMMAND_TIMEOUT * 1000 + 200, 'get');
  t.ok(took >= COMMAND_TIMEOUT * 1000 - 20, `waited for the command timeout (${took} ms)`);
  t.ok(w.store.metrics.timeouts >= 1, 'timeout counted');
  // Past the socket timeout the silent connection is dropped and reported down.
  await w.next('down', 2000);
  t.pass("'down' reported for the silent socket");

  redis.thaw();
  await eventually(() => w.store.get('k'));
  t.same(await w.store.get('k'), Buffer.from('v'), 'works again after thaw');
  await w.next('up');
});

t.test('frozen: one command waits for the timeout, the next fail at once until Redis answers', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const w = watchedStore(t, tokenCacheConfig({ url: redis.url }));
  await w.next('up');
  await w.store.set('k', Buffer.from('v'), 60);

  redis.freeze();
  t.teardown(() => redis.thaw());
  await t.rejects(w.store.get('k'), StoreUnavailableError);
  t.equal(w.store.metrics.timeouts, 1, 'the first command timed out');
  t.same(w.statuses, ['up', 'down'], "'down' reported at that timeout, not only when the socket is dropped");
  const ops: [string, () => Promise<unknown>][] = [
    ['get', () => w.store.get('k')],
    ['set', () => w.store.set('k', Buffer.from('v2'), 60)],
    ['del', () => w.store.del('k')],
    ['tryLock', () => w.store.tryLock('k', 1000)],
    ['waitUnlocked', () => w.store.waitUnlocked('k', 1000)],
    ['ping', () => w.store.ping()],
  ];
  for (const [what, op] of ops) await t.rejects(op(), StoreUnavailableError, `${what} fails`);
  t.equal(w.store.metrics.timeouts, 1, 'without waiting for another timeout');

  redis.thaw();
  await w.next('up');
  t.pass("'up' once Redis answers again");
  t.same(await w.store.get('k'), Buffer.from('v'), 'works again, no write got through while down');
});

t.test('close() returns promptly even when the server is frozen', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const w = watchedStore(t, tokenCacheConfig({ url: redis.url }));
  await w.next('up');
  redis.freeze();
  const started = Date.now();
  await w.store.close();
  // Without the fix close() waits for QUIT's reply forever; a 30 s bound tells the two apart on any load.
  t.ok(Date.now() - started < 30_000, `quit gave way to disconnect (${Date.now() - started} ms)`);
  redis.thaw();
});

t.test('password auth', async (t) => {
  const redis = await startRedis({ password: 'correct horse' });
  t.teardown(() => redis.stop());

  const w = watchedStore(t, tokenCacheConfig({ url: redis.url, password: 'correct horse' }));
  await w.next('up');
  await w.store.set('k', Buffer.from('v'), 60);
  t.same(await w.store.get('k'), Buffer.from('v'), 'authenticated with the configured password');

  const wrong = watchedStore(t, tokenCacheConfig({ url: redis.url, password: 'wrong' }));
  await failsFast(t, () => eventually(() => wrong.store.ping(), 500), 2000, 'wrong password');
  t.notOk(wrong.statuses.includes('up'), 'never up with a wrong password');
  t.notMatch(JSON.stringify(wrong.logs), /wrong/, 'the password is not logged');
});

t.test('configuration mistakes', async (t) => {
  t.throws(() => new RedisStore(tokenCacheConfig()), /needs url, sentinels \(with name\) or cluster/);
  const port = await freePort();
  const w = watchedStore(t, tokenCacheConfig({ url: `redis://127.0.0.1:${port}`, caFile: '/dev/null' }));
  t.match(w.logs[0]?.msg, /caFile is ignored/, 'a CA file with a plain redis:// URL is reported');
});
