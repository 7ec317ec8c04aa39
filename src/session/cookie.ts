// The session cookie (@fastify/secure-session): what it holds, its name and attributes, key rotation.
//
// Holds only ids and times (well under 4 KB whatever the user's claims): large claims stay server-side.
// The first key encrypts, all decrypt. `__Host-` prefixed, Secure, when publicUrl is https.
import secureSession, { type Session } from '@fastify/secure-session';
import type { FastifyInstance } from 'fastify';
import { LRUCache } from 'lru-cache';
import { type DerivedCookieNames, derive } from '../config/derived.js';
import { deepFreeze } from '../config/freeze.js';
import type { Config } from '../config/schema.js';
import type { AccountRef } from '../token-cache/store.js';

export interface SessionData {
  /** Session id: the server-side record's key. */
  sid: string;
  acc: AccountRef;
  /** Issued at, last seen, absolute expiry: epoch seconds. */
  iat: number;
  seen: number;
  exp: number;
}

declare module '@fastify/secure-session' {
  interface SessionData {
    signedIn: import('./cookie.js').SessionData;
    /** Where cookies written before issue 13 hold `signedIn`: moved on first read (signedIn()). */
    d: import('./cookie.js').SessionData;
  }
}

/**
 * The signed-in session this request's cookie holds, if any. A cookie written before issue 13 holds it
 * under `d`: it is moved to `signedIn`, so this response re-issues the cookie in the current shape.
 * Read as properties: the plugin's Proxy wraps every `get` call in a new function object.
 */
export function signedIn(session: Session): SessionData | undefined {
  const current = session.signedIn;
  if (current !== undefined) return current;
  const old = session.d;
  if (old === undefined) return undefined;
  session.set('signedIn', old);
  session.set('d', undefined);
  return old;
}

/** authward's own cookie names, derived once from the config (config/derived.ts says which is which). */
export type CookieNames = DerivedCookieNames;

/**
 * How authward's own sealed cookies (`<base64>;<base64>`) are written: only the `;` escaped (the default
 * URL-encodes the whole value once it holds a `;`). Read back the same, and the length no longer depends
 * on how many `+` and `/` the ciphertext happens to hold, so size caps are exact.
 */
export const encodeSealed = (value: string) => value.replaceAll(';', '%3B');

export const cookieNames = (config: Config): CookieNames => derive(config).cookies;

export async function sessionCookiePlugin(app: FastifyInstance, config: Config, names: CookieNames) {
  await app.register(secureSession, {
    key: (config.session.keys ?? []).map((k) => Buffer.from(k, 'base64')),
    cookieName: names.session,
    expiry: Math.ceil(config.session.lifetime),
    cookie: { path: '/', domain: names.domain, httpOnly: true, secure: names.secure, sameSite: 'lax' },
  });
  cacheDecodes(app, Math.ceil(config.session.lifetime));
}

// Decoded cookies kept by value: a signed-in browser sends the same cookie on every request, and
// decrypting it (base64, XSalsa20-Poly1305, JSON) is the largest per-request cost after the proxying.
// Bounded; an entry only ever maps a value to what decoding it gives, so a hit is exactly a decode.
const DECODED_MAX = 10_000;
const PARSED_MAX_BYTES = 8 * 2 ** 20;

/**
 * Wraps the plugin's decoder (its onRequest hook calls it through the instance) with a cache of cookies
 * that decrypted with the current key. Each hit gets a fresh session object over a copy of the data, so
 * a request that changes its session changes nobody else's; the nested values are frozen. The plugin's
 * own expiry check is repeated on every hit.
 */
function cacheDecodes(app: FastifyInstance, expirySeconds: number): void {
  const decode = app.decodeSecureSession.bind(app);
  const cache = new LRUCache<string, { data: Record<string, unknown>; until: number }>({
    max: DECODED_MAX,
  });
  // The Cookie header parsed once per distinct value too (it URI-decodes each value): a copy per request.
  const parse = app.parseCookie.bind(app);
  // Bounded by bytes, not entries: anyone can send any Cookie header (up to Node's 16 KB).
  const parsed = new LRUCache<string, Record<string, string>>({
    maxSize: PARSED_MAX_BYTES,
    sizeCalculation: (_value, header) => 2 * header.length + 64,
  });
  app.parseCookie = (header) => {
    let cookies = parsed.get(header);
    if (!cookies) {
      cookies = parse(header) as Record<string, string>;
      parsed.set(header, cookies);
    }
    return { ...cookies };
  };
  app.decodeSecureSession = (cookie, log, sessionName) => {
    if (cookie === undefined) return decode(cookie, log, sessionName);
    const hit = cache.get(cookie);
    if (hit) {
      if (hit.until > Date.now()) return app.createSecureSession({ ...hit.data });
      cache.delete(cookie);
    }
    const session = decode(cookie, log, sessionName);
    // `changed` on a fresh decode means an older key decrypted it: re-encrypted on the way out, not kept.
    if (session && !session.changed) {
      const data = { ...session.data(), __ts: session.get('__ts') };
      deepFreeze(data);
      cache.set(cookie, { data, until: ((data.__ts as number) + expirySeconds) * 1000 });
    }
    return session;
  };
}
