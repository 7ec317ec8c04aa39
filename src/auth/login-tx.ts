// Login transactions: state, nonce, PKCE verifier and return target in short-lived sealed cookies.
//
// Bounded by construction, whatever the order of requests: a browser holds at most SLOTS transactions,
// in cookies with fixed names (`<session>-tx-0` .. `-2`), each at most MAX_COOKIE bytes (name=value,
// written by encodeSealed so the size is exact): 7.5 KB of Cookie header in all, under half of Node's
// 16 KB header limit; a return target of up to about 1,570 characters still fits whole, a longer one
// keeps its path. (Before, each login had a cookie of its own and the limit counted only the cookies a
// request sent back, so logins started in parallel piled up past 16 KB and every request got 431 for
// ten minutes: issue 11.) A new login takes a slot its request shows free (absent, expired, unreadable),
// else the oldest. Logins started in parallel cannot see each other and pick free slots at random, so
// two tabs may share one; the earlier tab's callback then asks to start again, a bounded cost. A callback
// whose state is not the one in its slot leaves the slot alone (it belongs to another pending login).
// The cookie binds the callback to the browser that started the login. Kept out of the server-side
// store on purpose: anonymous requests must not write there.
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError } from '../errors.js';
import { type CookieNames, encodeSealed } from '../session/cookie.js';

export interface LoginTx {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  /** Extra scopes consented in this login (incremental consent), and a claims challenge if any. */
  scopes: string[];
  claims?: string;
  /**
   * Started at: epoch milliseconds (the oldest slot is reused first). Named `t` before issue 13: such a
   * cookie now reads as expired (no finite startedAt), so its login asks to start again.
   */
  startedAt: number;
}

export const TX_TTL = 600;
export const SLOTS = 3;
/** name=value as the Cookie header carries it (browsers drop a cookie past 4096 bytes). */
export const MAX_COOKIE = 2500;
// `<slot><11 random>.<32 random>`: the slot digit names the cookie.
const STATE = /^(\d)[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{32}$/;
const rand = (n: number) => randomBytes(n).toString('base64url');

export class LoginTransactions {
  private readonly slotNames: readonly string[];

  constructor(
    private readonly app: FastifyInstance,
    private readonly names: CookieNames,
  ) {
    this.slotNames = Array.from({ length: SLOTS }, (_, i) => `${names.txPrefix}${i}`);
  }

  /**
   * Starts a transaction in a slot: sets its cookie, returns state and nonce for the login URL. A return
   * target too long for the cookie keeps only its path (then "/"); parameters that do not fit even so
   * are a 400 (scopes are configured ones and claims are capped, so only an extreme config gets there).
   */
  begin(
    request: FastifyRequest,
    reply: FastifyReply,
    tx: Omit<LoginTx, 'state' | 'nonce' | 'startedAt'>,
  ): LoginTx {
    const slot = this.pickSlot(request, reply);
    const name = this.slotNames[slot] as string;
    const base = {
      ...tx,
      state: `${slot}${rand(9).slice(1)}.${rand(24)}`,
      nonce: rand(24),
      startedAt: Date.now(),
    };
    const path = tx.returnTo.replace(/[?#][\s\S]*$/, '');
    for (const returnTo of new Set([tx.returnTo, path, '/'])) {
      const full: LoginTx = { ...base, returnTo };
      const value = this.app.encodeSecureSession(this.app.createSecureSession({ tx: full }));
      if (name.length + 1 + encodeSealed(value).length > MAX_COOKIE) continue;
      reply.setCookie(name, value, this.cookieOptions(TX_TTL));
      return full;
    }
    throw new BadRequestError('sign-in parameters too large');
  }

  /** Finds, checks and consumes the transaction named by `state`; null when absent, expired or forged. */
  finish(request: FastifyRequest, reply: FastifyReply, state: string): LoginTx | null {
    const slot = STATE.exec(state)?.[1];
    const name = slot === undefined ? undefined : this.slotNames[Number(slot)];
    if (!name) return null;
    const value = request.cookies?.[name];
    const tx = this.read(value);
    if (!tx) {
      if (value !== undefined) this.clear(reply, name);
      return null;
    }
    const a = Buffer.from(tx.state);
    const b = Buffer.from(state);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return null; // another login's slot: kept
    this.clear(reply, name);
    return this.expired(tx) ? null : tx;
  }

  /**
   * Undoes finish() for a callback that failed on an outage (provider or token store down) before the
   * code was redeemed: reloading the callback page once the outage is over then completes the sign-in
   * instead of reporting an expired one. The cookie keeps its original expiry.
   */
  restore(request: FastifyRequest, reply: FastifyReply, tx: LoginTx): void {
    const name = this.slotNames[Number(tx.state[0])];
    const value = name && request.cookies?.[name];
    const left = Math.floor(TX_TTL - (Date.now() - tx.startedAt) / 1000);
    if (name && value && left > 0) reply.setCookie(name, value, this.cookieOptions(left));
  }

  /** A slot the request shows free, at random (parallel logins spread out), else the oldest one. */
  private pickSlot(request: FastifyRequest, reply: FastifyReply): number {
    const cookies = request.cookies ?? {};
    // Cookies under the prefix that are no slot (an earlier version's per-login names) are dropped.
    for (const n of Object.keys(cookies)) {
      if (n.startsWith(this.names.txPrefix) && !this.slotNames.includes(n)) this.clear(reply, n);
    }
    const ages = this.slotNames.map((n) => {
      const tx = this.read(cookies[n]);
      return tx && !this.expired(tx) ? tx.startedAt : -1;
    });
    const free = ages.flatMap((t, i) => (t < 0 ? [i] : []));
    if (free.length > 0) return free[randomInt(free.length)] as number;
    return ages.indexOf(Math.min(...ages));
  }

  private expired(tx: LoginTx): boolean {
    return !Number.isFinite(tx.startedAt) || Date.now() - tx.startedAt > TX_TTL * 1000;
  }

  private read(value: string | undefined): LoginTx | null {
    if (!value) return null;
    const session = this.app.decodeSecureSession(value);
    return (session?.get('tx') as LoginTx | undefined) ?? null;
  }

  private clear(reply: FastifyReply, name: string) {
    reply.setCookie(name, '', this.cookieOptions(0));
  }

  private cookieOptions(maxAge: number) {
    const secure = this.names.secure;
    return { path: '/', httpOnly: true, secure, sameSite: 'lax' as const, maxAge, encode: encodeSealed };
  }
}

declare module '@fastify/secure-session' {
  interface SessionData {
    tx: LoginTx;
  }
}
