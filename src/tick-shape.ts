// Keeps V8's optimized process.nextTick fast for the life of the process (called once, by the CLI).
//
// Node builds each nextTick queue entry as an object literal with two symbol keys. When no entry is alive
// (an idle moment) a full GC may collect the hidden classes ("maps") those entries had; the next entries
// get new ones. After a few such moments the literal's stores have seen several maps, and nextTick, once
// optimized again, defines each key through a generic runtime call: 5-10 times slower, on the ~10
// nextTicks of every proxied request. Measured (bench/README.md, "the fifth pass"): a process in that
// state spends 10 % more CPU per request, which one process in three or four reached during sign-in
// and warm-up alone, and idle GCs brought about every time. One entry kept alive holds the maps, so every
// entry takes the same, monomorphic path.
import { createHook } from 'node:async_hooks';

let kept: object | undefined;

/** Retains one nextTick queue entry (captured through a momentary async hook); idempotent. */
export function keepTickShape(): object | undefined {
  if (kept) return kept;
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === 'TickObject' && kept === undefined) kept = resource as object;
    },
  });
  hook.enable();
  process.nextTick(noop);
  hook.disable();
  return kept;
}

function noop(): void {}
