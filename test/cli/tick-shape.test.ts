// The retained nextTick entry (src/tick-shape.ts): a real queue entry, shaped as every later one, idle GCs or not.
import { createHook } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { keepTickShape } from '../../src/tick-shape.js';

// V8's own view of hidden classes and a full GC, in this process only (flags set before their use).
setFlagsFromString('--allow-natives-syntax');
const sameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** The next nextTick queue entry, as the async hook sees it being made. */
function nextEntry(): Promise<object> {
  let entry: object | undefined;
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === 'TickObject' && entry === undefined) entry = resource as object;
    },
  });
  hook.enable();
  process.nextTick(() => {});
  hook.disable();
  return new Promise((resolve, reject) =>
    setImmediate(() => (entry ? resolve(entry) : reject(new Error('no TickObject seen')))),
  );
}

t.test('one queue entry is kept, the same one on every call', async (t) => {
  const kept = keepTickShape();
  t.ok(kept, 'an entry was captured');
  t.equal(keepTickShape(), kept, 'idempotent');
  t.equal(Object.getOwnPropertySymbols(kept).length, 2, "nextTick's two async-id symbol keys");
  t.type((kept as { callback?: unknown }).callback, 'function');
});

t.test('entries made after idle moments and full GCs share its hidden class', async (t) => {
  const kept = keepTickShape() as object;
  for (let i = 0; i < 5; i++) {
    // An idle moment: no other entry alive, then full GCs (what collected the classes before).
    await new Promise((resolve) => setTimeout(resolve, 1));
    gc();
    gc();
    t.ok(sameMap(await nextEntry(), kept), `round ${i + 1}: same map as the kept entry`);
  }
});
