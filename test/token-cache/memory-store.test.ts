// Proves the memory token store stays bounded: past maxEntries the least recently used entry goes.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { MemoryStore } from '../../src/token-cache/memory-store.js';

t.test('maxEntries 3: a 4th key evicts the least recently used', async (t) => {
  const store = new MemoryStore({ maxEntries: 3 });
  t.teardown(() => store.close());
  for (const key of ['a', 'b', 'c']) await store.set(key, Buffer.from(key), 60);
  t.same(await store.get('a'), Buffer.from('a'), 'reading a makes b the least recently used');
  await store.set('d', Buffer.from('d'), 60);
  t.equal(await store.get('b'), null, 'b evicted');
  for (const key of ['a', 'c', 'd']) t.same(await store.get(key), Buffer.from(key), `${key} kept`);
});

t.test('the lock table is bounded too: the oldest lock gives way', async (t) => {
  const store = new MemoryStore({ maxEntries: 2 });
  t.teardown(() => store.close());
  t.ok(await store.tryLock('a', 10_000));
  t.ok(await store.tryLock('b', 10_000));
  t.ok(await store.tryLock('c', 10_000), 'a third lock is granted');
  t.ok(await store.tryLock('a', 10_000), 'by dropping the oldest');
  t.equal(await store.tryLock('c', 10_000), null, 'newer locks stay');
});

t.test('stored buffers are copies', async (t) => {
  const store = new MemoryStore({ maxEntries: 3 });
  const value = Buffer.from('abc');
  await store.set('k', value, 60);
  value[0] = 0x7a;
  const read = await store.get('k');
  t.same(read, Buffer.from('abc'), 'mutating the input does not change the entry');
  if (read) read[0] = 0x7a;
  t.same(await store.get('k'), Buffer.from('abc'), 'mutating the output does not change the entry');
  t.match(store.metrics, { hits: 2, sets: 1 });
});

t.test(
  'entries are kept compact: a partition-like value takes well under its size, and reads back exactly',
  async (t) => {
    const store = new MemoryStore({ maxEntries: 10 });
    t.teardown(() => store.close());
    // Shaped like an MSAL partition: JSON with repeated account ids around base64url tokens.
    const id = 'alice.9188040d-6c67-4c5b-b112-36a304b66dad';
    const token = () => randomBytes(500).toString('base64url');
    const entry = (kind: string) => ({
      home_account_id: id,
      environment: 'login.example',
      credential_type: kind,
      secret: token(),
    });
    const json = Buffer.from(
      JSON.stringify({
        IdToken: { [`${id}-idtoken`]: entry('IdToken') },
        AccessToken: { [`${id}-at`]: entry('AccessToken') },
      }),
    );
    await store.set('acct:alice', json, 60);
    t.ok(store.storedBytes() < json.length * 0.85, `stored ${store.storedBytes()} B for ${json.length} B`);
    t.same(await store.get('acct:alice'), json, 'reads back byte for byte');

    // Sealed (random-looking) bytes do not compress: kept as they are, and read back exactly too.
    const sealed = randomBytes(3000);
    await store.set('acct:bob', sealed, 60);
    t.same(await store.get('acct:bob'), sealed);
    const tiny = Buffer.from([0, 1, 255]);
    await store.set('k', tiny, 60);
    t.same(await store.get('k'), tiny, 'binary and short values round-trip');
    await store.set('empty', Buffer.alloc(0), 60);
    t.same(await store.get('empty'), Buffer.alloc(0), 'so does an empty value');
    await store.del('acct:alice');
    await store.del('acct:bob');
    t.ok(store.storedBytes() < 64, 'deleted entries are no longer counted');
  },
);
