// The session cookie (@fastify/secure-session): what it holds, its name and attributes, key rotation.
//
// Holds only ids and times (well under 4 KB whatever the user's claims): large claims stay server-side.
// The first key encrypts, all decrypt. `__Host-` prefixed, Secure, when publicUrl is https.
import secureSession from '@fastify/secure-session';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { AccountRef } from '../tokens/token-service.js';

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
    d: import('./cookie.js').SessionData;
  }
}

export interface CookieNames {
  session: string;
  txPrefix: string;
  /** The sign-in loop counter (src/auth/sign-in-loop.ts): never `__Host-`/Secure, see there. */
  loop: string;
  secure: boolean;
  isOwn: (name: string) => boolean;
}

export function cookieNames(config: Config): CookieNames {
  const secure = new URL(config.publicUrl).protocol === 'https:';
  const base = `${secure ? '__Host-' : ''}${config.session.cookieName}`;
  const txPrefix = `${base}-tx-`;
  const loop = `${config.session.cookieName}-loop`;
  return {
    session: base,
    txPrefix,
    loop,
    secure,
    isOwn: (n) => n === base || n.startsWith(txPrefix) || n === loop,
  };
}

export async function sessionCookiePlugin(app: FastifyInstance, config: Config, names: CookieNames) {
  await app.register(secureSession, {
    key: (config.session.keys ?? []).map((k) => Buffer.from(k, 'base64')),
    cookieName: names.session,
    expiry: Math.ceil(config.session.lifetime),
    cookie: { path: '/', httpOnly: true, secure: names.secure, sameSite: 'lax' },
  });
}
