// Proves the memory token store stays bounded: past maxEntries the least recently used entry goes.
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
