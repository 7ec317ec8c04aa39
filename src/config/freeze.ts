// deepFreeze: config and session data handed out once and shared, so nothing may change them later.

/** Freezes `value` and everything reachable from it (already-frozen parts are skipped); returns it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}
