// The session cookie (@fastify/secure-session): what it holds, its name and attributes, key rotation.
//
// Holds only ids and times (well under 4 KB whatever the user's claims): large claims stay server-side.
// The first key encrypts, all decrypt. `__Host-` prefixed, Secure, when publicUrl is https.
import fastifyCookie from '@fastify/cookie';
import secureSession, { type SecureSessionPluginOptions, type Session } from '@fastify/secure-session';
import type { FastifyInstance } from 'fastify';
import { type DerivedCookieNames, derive } from '../config/derived.js';
import type { Config } from '../config/schema.js';
import type { AccountRef } from '../token-cache/store.js';
import { cachedDecoder } from './decode-cache.js';

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

/**
 * Cookie values as the cookie library decodes them (decodeURIComponent once a `%` is there, the value as
 * is when that fails), without the native call for what encodeSealed writes: a session cookie, sent on
 * every request, holds one `%3B` and nothing else escaped.
 */
export function decodeCookie(value: string): string {
  if (!value.includes('%')) return value;
  const sealed = value.replaceAll('%3B', ';');
  if (!sealed.includes('%')) return sealed;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

const { parse } = fastifyCookie.fastifyCookie; // (app.parseCookie takes no decode of its own)
const PARSE = { decode: decodeCookie };

/** A Cookie header's cookies, as the session stage reads them on every request. */
export const parseCookieHeader = (header: string): Record<string, string> => parse(header, PARSE);

export const cookieNames = (config: Config): CookieNames => derive(config).cookies;

/**
 * The session cookie on every request, built on the plugins' documented API: @fastify/cookie with
 * `hook: false` (this stage parses the header itself) and @fastify/secure-session's codec
 * (createSecureSession, encodeSecureSession, decodeSecureSession), registered in a context of its own so
 * its per-request hooks serve no route. The two hooks here do what the plugin's would, the decode
 * through a cache (decode-cache.ts). `app.decodeSecureSession` is that cached decoder.
 */
export async function sessionCookiePlugin(app: FastifyInstance, config: Config, names: CookieNames) {
  const expiry = Math.ceil(config.session.lifetime);
  const cookie = {
    path: '/',
    domain: names.domain,
    httpOnly: true,
    secure: names.secure,
    sameSite: 'lax' as const,
  };
  // Before @fastify/cookie's onSend, which writes what was set so far: with `hook: false` it writes
  // nothing set after it runs (no onSend hook sets a cookie later), so this one goes first.
  app.addHook('onSend', (request, reply, _payload, done) => {
    const session = request.session;
    if (session?.changed) {
      if (session.deleted) reply.setCookie(names.session, '', { ...cookie, expires: new Date(0), maxAge: 0 });
      else reply.setCookie(names.session, codec.encode(session), { ...cookie, encode: encodeSealed });
    }
    done();
  });
  await app.register(fastifyCookie, { hook: false });
  const codec = await sessionCodec(app, {
    key: (config.session.keys ?? []).map((k) => Buffer.from(k, 'base64')),
    cookieName: names.session,
    expiry,
    cookie,
  });
  const decode = cachedDecoder(codec.decode, codec.create, expiry);
  app.decorate('decodeSecureSession', decode);
  app.decorate('createSecureSession', codec.create);
  app.decorate('encodeSecureSession', codec.encode);
  app.decorateRequest('session', null as never);

  app.addHook('onRequest', (request, _reply, done) => {
    const header = request.headers.cookie;
    request.cookies = header ? parseCookieHeader(header) : {};
    const value = request.cookies[names.session];
    request.session = (value !== undefined && decode(value, request.log)) || codec.create({});
    done();
  });
}

interface SessionCodec {
  create: FastifyInstance['createSecureSession'];
  encode: FastifyInstance['encodeSecureSession'];
  decode: FastifyInstance['decodeSecureSession'];
}

/** The plugin's codec, from a child context: its hooks live there, where no route is. */
async function sessionCodec(
  app: FastifyInstance,
  options: SecureSessionPluginOptions,
): Promise<SessionCodec> {
  let codec: SessionCodec | undefined;
  await app.register(async (own) => {
    await own.register(secureSession, options);
    codec = {
      create: own.createSecureSession,
      encode: own.encodeSecureSession,
      decode: own.decodeSecureSession,
    };
  });
  if (!codec) throw new Error('@fastify/secure-session registered no codec');
  return codec;
}
