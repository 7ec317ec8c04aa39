// Decoded session cookies, kept by value: a signed-in browser sends the same cookie on every request,
// and decrypting it (base64, XSalsa20-Poly1305, JSON) is the largest per-request cost after the
// proxying. Bounded; an entry only ever maps a value to what decoding it gives, so a hit is exactly a
// decode. (The Cookie header itself is parsed on every request, ~0.3 µs: a cache of whole headers cost
// ~0.6 KiB a browser, and missed every time once more browsers came round than it held.)
import type { Session } from '@fastify/secure-session';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { LRUCache } from 'lru-cache';
import { deepFreeze } from '../config/freeze.js';

// Entries are made only for cookies seen (~0.6 KiB each), so the bound costs nothing until it is used; it
// sits well above the browsers one replica serves at once (the L1's default account bound), because an
// LRU holding fewer browsers than come round in turn (a wall of dashboards polling) misses every time.
const DECODED_MAX = 50_000;

type Decode = (cookie: string, log?: FastifyBaseLogger) => Session | null;

/**
 * The plugin's decoder behind a cache of cookies that decrypted with the current key. Each hit gets a
 * fresh session object over a copy of the data, so a request that changes its session changes nobody
 * else's; the nested values are frozen. The plugin's own expiry check is repeated on every hit. A
 * cookie only an older key opens is decoded every time (`changed`: re-issued under the current key).
 */
export function cachedDecoder(
  decode: Decode,
  create: FastifyInstance['createSecureSession'],
  expirySeconds: number,
): Decode {
  const cache = new LRUCache<string, { data: Record<string, unknown>; until: number }>({ max: DECODED_MAX });
  return (cookie, log) => {
    const hit = cache.get(cookie);
    if (hit) {
      if (hit.until > Date.now()) return create({ ...hit.data });
      cache.delete(cookie);
    }
    const session = decode(cookie, log);
    if (session && !session.changed) {
      const data = { ...session.data(), __ts: session.get('__ts') };
      deepFreeze(data);
      cache.set(cookie, { data, until: ((data.__ts as number) + expirySeconds) * 1000 });
    }
    return session;
  };
}
