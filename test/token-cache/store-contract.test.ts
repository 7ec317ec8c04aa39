// One behaviour contract, run against every token-store backend: memory, standalone Redis, Redis Cluster.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import type { TokenCacheConfig } from '../../src/config/schema.js';
import { createStore } from '../../src/token-cache/factory.js';
import { MemoryStore } from '../../src/token-cache/memory-store.js';
import { RedisStore } from '../../src/token-cache/redis-store.js';
import { type Store, StoreUnavailableError } from '../../src/token-cache/store.js';
import { freePort } from '../helpers/ports.js';
import { startRedis, startRedisCluster } from '../helpers/redis.js';
import { createTestTls } from '../helpers/tls.js';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const PREFIX = 'test:';

function tokenCacheConfig(overrides: Partial<TokenCacheConfig> = {}): TokenCacheConfig {
  return {
    type: 'redis',
    keyPrefix: PREFIX,
    ttl: 3600,
    maxEntries: 1000,
    connectTimeout: 1,
    commandTimeout: 1,
    l1Ttl: 30,
    renewWindow: 0.1,
    l1MaxEntries: 1000,
    ...overrides,
  };
}

/** The server as seen without the store: full (prefixed) key names. */
interface RawView {
  getBuffer(fullKey: string): Promise<Buffer | null>;
  pttl(fullKey: string): Promise<number>;
  /** Every key under PREFIX, on every node. */
  keys(): Promise<string[]>;
}

interface Harness {
  store: Store;
  raw?: RawView;
}

const waitUp = (store: Store) =>
  new Promise<void>((resolve) => store.onStatus((status) => status === 'up' && resolve()));

async function contract(t: Tap, make: () => Promise<Harness>): Promise<void> {
  const { store, raw } = await make();
  t.teardown(() => store.close());
  await waitUp(store);
  let n = 0;
  const key = () => `account-${++n}-${randomBytes(4).toString('hex')}`;

  t.test('get of a missing key is null', async (t) => {
    t.equal(await store.get(key()), null);
  });

  t.test('binary values round-trip byte for byte', async (t) => {
    const k = key();
    const value = Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a, 0x80]), randomBytes(4096)]);
    await store.set(k, value, 60);
    t.same(await store.get(k), value);
  });

  t.test('entries expire after their TTL', async (t) => {
    const k = key();
    await store.set(k, Buffer.from('short-lived'), 1);
    t.same(await store.get(k), Buffer.from('short-lived'), 'there before the TTL');
    if (raw) {
      const pttl = await raw.pttl(PREFIX + k);
      t.ok(pttl > 0 && pttl <= 1000, `the server holds a TTL (${pttl} ms)`);
    }
    await sleep(1200);
    t.equal(await store.get(k), null, 'gone after the TTL');
  });

  t.test('set overwrites and renews the TTL', async (t) => {
    const k = key();
    await store.set(k, Buffer.from('one'), 1);
    await store.set(k, Buffer.from('two'), 60);
    t.same(await store.get(k), Buffer.from('two'));
    if (raw) t.ok((await raw.pttl(PREFIX + k)) > 1000, 'the TTL is the new one');
  });

  t.test('del removes; deleting a missing key is fine', async (t) => {
    const k = key();
    await store.set(k, Buffer.from('v'), 60);
    await store.del(k);
    t.equal(await store.get(k), null);
    await t.resolves(store.del(key()));
  });

  t.test('keys carry the configured prefix on the server', { skip: !raw && 'memory' }, async (t) => {
    const k = key();
    await store.set(k, Buffer.from('prefixed'), 60);
    t.same(await raw?.getBuffer(PREFIX + k), Buffer.from('prefixed'), 'stored under prefix+key');
    t.equal(await raw?.getBuffer(k), null, 'nothing under the bare key');
  });

  t.test('tryLock: one holder at a time, released by its owner', async (t) => {
    const k = key();
    const release = await store.tryLock(k, 5000);
    t.type(release, 'function', 'first caller gets the lock');
    t.equal(await store.tryLock(k, 5000), null, 'second caller is refused');
    if (raw) t.ok((await raw.pttl(`${PREFIX}lock:${k}`)) > 0, 'the lock key has a TTL');
    await release?.();
    const again = await store.tryLock(k, 5000);
    t.type(again, 'function', 'free again after release');
    await again?.();
  });

  t.test('a lock and data under the same key do not interfere', async (t) => {
    const k = key();
    await store.set(k, Buffer.from('data'), 60);
    const release = await store.tryLock(k, 5000);
    t.type(release, 'function', 'lock granted although data exists');
    t.same(await store.get(k), Buffer.from('data'), 'data intact while locked');
    await release?.();
    t.same(await store.get(k), Buffer.from('data'), 'data intact after release');
  });

  t.test("a stale owner's late release does not free the new owner's lock", async (t) => {
    const k = key();
    const stale = await store.tryLock(k, 100);
    t.type(stale, 'function');
    await sleep(150);
    const current = await store.tryLock(k, 5000);
    t.type(current, 'function', 'expired lock can be taken');
    await stale?.();
    t.equal(await store.tryLock(k, 5000), null, 'still held by the new owner');
    await current?.();
  });

  t.test('waitUnlocked', async (t) => {
    // waitMs and the lock TTL are 60 s: "returned at once / soon / gave up" is judged against them
    // (ms < 30 s), and by the lock's state, not by a wall-clock margin.
    const k = key();
    let started = Date.now();
    await store.waitUnlocked(k, 60_000);
    const free = Date.now() - started;
    t.ok(free < 30_000, `returns at once when nobody holds the lock, not after waitMs (${free} ms)`);

    const release = await store.tryLock(k, 60_000);
    let released = false;
    setTimeout(() => void release?.().then(() => (released = true)), 100);
    started = Date.now();
    await store.waitUnlocked(k, 60_000);
    const waited = Date.now() - started;
    t.ok(waited >= 80, `waits for the release (${waited} ms)`);
    t.ok(waited < 30_000, `returns at the release, not at waitMs or the lock's expiry (${waited} ms)`);
    await sleep(0);
    t.ok(released, 'the release had happened when it returned');

    const held = await store.tryLock(k, 60_000);
    t.type(held, 'function');
    started = Date.now();
    await store.waitUnlocked(k, 150);
    const gaveUp = Date.now() - started;
    t.ok(gaveUp >= 140, `waits out waitMs (${gaveUp} ms)`);
    t.ok(gaveUp < 30_000, `gives up after waitMs, not at the lock's 60 s expiry (${gaveUp} ms)`);
    t.equal(await store.tryLock(k, 5000), null, 'the lock is still held: it gave up, it was not released');
    await held?.();
  });

  t.test('ping', async (t) => {
    await t.resolves(store.ping());
  });

  t.test('counters', async (t) => {
    const before = { ...store.metrics };
    const k = key();
    await store.get(k);
    await store.set(k, Buffer.from('x'), 60);
    await store.get(k);
    t.equal(store.metrics.misses, before.misses + 1);
    t.equal(store.metrics.hits, before.hits + 1);
    t.equal(store.metrics.sets, before.sets + 1);
  });

  t.test('every key on the server has a TTL', { skip: !raw && 'memory' }, async (t) => {
    const keys = (await raw?.keys()) ?? [];
    t.ok(keys.length > 0, `${keys.length} keys left by this suite`);
    for (const k of keys) {
      const pttl = (await raw?.pttl(k)) ?? -1;
      if (pttl <= 0 && pttl !== -2) t.fail(`${k} has no TTL (${pttl})`);
    }
  });
}

t.test('memory', (t) => contract(t, async () => ({ store: new MemoryStore({ maxEntries: 1000 }) })));

t.test('redis: standalone', (t) =>
  contract(t, async () => {
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    const client = redis.client();
    return {
      // Through the factory, as the app builds it.
      store: createStore(tokenCacheConfig({ url: redis.url }), { warn() {}, info() {} }),
      raw: {
        getBuffer: (k) => client.getBuffer(k),
        pttl: (k) => client.pttl(k),
        keys: () => client.keys(`${PREFIX}*`),
      },
    };
  }),
);

t.test('redis: cluster of 3 masters', (t) =>
  contract(t, async () => {
    const cluster = await startRedisCluster({ masters: 3 });
    t.teardown(() => cluster.stop());
    const client = cluster.client();
    return {
      store: new RedisStore(tokenCacheConfig({ cluster: cluster.nodes })),
      raw: {
        getBuffer: (k) => client.getBuffer(k),
        pttl: (k) => client.pttl(k),
        keys: async () => (await Promise.all(client.nodes('master').map((n) => n.keys(`${PREFIX}*`)))).flat(),
      },
    };
  }),
);

t.test('redis: standalone over TLS (rediss:// with caFile)', async (t) => {
  const tls = await createTestTls();
  t.teardown(() => tls.cleanup());
  const tlsPort = await freePort();
  const redis = await startRedis({
    // Server authentication only: no client certificates.
    args: [
      ...['--tls-port', String(tlsPort), '--tls-auth-clients', 'no'],
      ...['--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile],
    ],
  });
  t.teardown(() => redis.stop());
  const url = `rediss://127.0.0.1:${tlsPort}`;

  t.test('without the CA the server is not trusted', async (t) => {
    const store = new RedisStore(tokenCacheConfig({ url }));
    t.teardown(() => store.close());
    const detail = await new Promise<string | undefined>((resolve) =>
      store.onStatus((status, detail) => status === 'down' && resolve(detail)),
    );
    t.match(detail, /certificate/i, `down: ${detail}`);
    await t.rejects(store.ping(), StoreUnavailableError);
  });

  const client = redis.client();
  await contract(t, async () => ({
    store: new RedisStore(tokenCacheConfig({ url, caFile: tls.caFile })),
    raw: {
      getBuffer: (k) => client.getBuffer(k),
      pttl: (k) => client.pttl(k),
      keys: () => client.keys(`${PREFIX}*`),
    },
  }));
});
