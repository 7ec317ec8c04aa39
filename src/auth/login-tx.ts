// Login transactions: state, nonce, PKCE verifier and return target in a short-lived encrypted cookie.
//
// One cookie per transaction (`<session>-tx-<id>`, the id is the first part of `state`), so parallel
// logins in several tabs do not overwrite each other; at most MAX_PARALLEL are kept (oldest dropped),
// each lives TX_TTL seconds. The cookie binds the callback to the browser that started the login.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CookieNames } from '../session/cookie.js';

export interface LoginTx {
  state: string;
  nonce: string;
  verifier: string;
  returnTo: string;
  /** Extra scopes consented in this login (incremental consent), and a claims challenge if any. */
  scopes: string[];
  claims?: string;
  t: number;
}

export const TX_TTL = 600;
const MAX_PARALLEL = 3;
const rand = (n: number) => randomBytes(n).toString('base64url');

export class LoginTransactions {
  constructor(
    private readonly app: FastifyInstance,
    private readonly names: CookieNames,
  ) {}

  /** Starts a transaction: sets its cookie, trims older ones, returns state and nonce for the login URL. */
  begin(request: FastifyRequest, reply: FastifyReply, tx: Omit<LoginTx, 'state' | 'nonce' | 't'>): LoginTx {
    const id = rand(9);
    const full: LoginTx = {
      ...tx,
      state: `${id}.${rand(24)}`,
      nonce: rand(24),
      t: Math.floor(Date.now() / 1000),
    };
    const existing = Object.keys(request.cookies ?? {}).filter((n) => n.startsWith(this.names.txPrefix));
    if (existing.length >= MAX_PARALLEL) {
      const byAge = existing
        .map((name) => ({ name, t: this.read(request.cookies[name])?.t ?? 0 }))
        .sort((a, b) => a.t - b.t);
      for (const { name } of byAge.slice(0, existing.length - MAX_PARALLEL + 1)) this.clear(reply, name);
    }
    const value = this.app.encodeSecureSession(this.app.createSecureSession({ tx: full }));
    reply.setCookie(`${this.names.txPrefix}${id}`, value, this.cookieOptions(TX_TTL));
    return full;
  }

  /** Finds, checks and consumes the transaction named by `state`; null when absent, expired or forged. */
  finish(request: FastifyRequest, reply: FastifyReply, state: string): LoginTx | null {
    const id = state.split('.', 1)[0] ?? '';
    if (!/^[A-Za-z0-9_-]{12}$/.test(id)) return null;
    const name = `${this.names.txPrefix}${id}`;
    const tx = this.read(request.cookies?.[name]);
    if (request.cookies?.[name] !== undefined) this.clear(reply, name);
    if (!tx || Date.now() / 1000 - tx.t > TX_TTL) return null;
    const a = Buffer.from(tx.state);
    const b = Buffer.from(state);
    return a.length === b.length && timingSafeEqual(a, b) ? tx : null;
  }

  /**
   * Undoes finish() for a callback that failed on an outage (provider or token store down) before the
   * code was redeemed: reloading the callback page once the outage is over then completes the sign-in
   * instead of reporting an expired one. The cookie keeps its original expiry.
   */
  restore(request: FastifyRequest, reply: FastifyReply, tx: LoginTx): void {
    const name = `${this.names.txPrefix}${tx.state.split('.', 1)[0]}`;
    const value = request.cookies?.[name];
    const left = TX_TTL - (Math.floor(Date.now() / 1000) - tx.t);
    if (value && left > 0) reply.setCookie(name, value, this.cookieOptions(left));
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
    return { path: '/', httpOnly: true, secure: this.names.secure, sameSite: 'lax' as const, maxAge };
  }
}

declare module '@fastify/secure-session' {
  interface SessionData {
    tx: LoginTx;
  }
}
