// WebSocket upgrades that carry a session or a bearer token: same-origin only (sessions), and closed
// when the session or the token ends.
//
// Rules enforced:
// - an upgrade whose Origin is not publicUrl's origin is refused (403): browsers send the session cookie
//   on a cross-site upgrade (SameSite=Lax does not cover WebSockets as a same-site check would), and the
//   upstream never sees the browser's Origin (authward opens its own connection), so only authward can
//   stop cross-site WebSocket hijacking. An upgrade without Origin (not a browser) passes;
// - every proxied socket is kept under its session id: a session this replica ends (sign-out, dead grant,
//   a new sign-in) closes its sockets at once; a sign-out on another replica, or the session's absolute
//   lifetime, closes them within session.revocationCheckInterval (a sweep re-reads each record). While
//   the token store is unreachable the sweep keeps sockets open (the records' stale bound applies);
// - an API client's socket (bearer token at upgrade) is kept under its token's hash and closed when the
//   token's `exp` plus identity.clockSkew has passed: the instant a new upgrade with that token would be
//   refused, never before (a timer per token, re-armed if it fires early). A token revoked at the provider
//   before its `exp` is not noticed on an open socket (a JWT cannot be, and introspection is per request).
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { SessionRecords } from '../session/records.js';

interface Entry {
  /** The session's absolute end, epoch seconds. */
  exp: number;
  sockets: Set<Socket>;
}

interface TokenEntry {
  /** The bearer token's end (exp + clock skew), epoch seconds. */
  end: number;
  sockets: Set<Socket>;
  timer?: NodeJS.Timeout;
}

/** setTimeout's longest delay (a longer one fires at once). */
const MAX_DELAY_MS = 2 ** 31 - 1;

export class LiveSockets {
  // Bounded by the open connections: an entry goes with its last socket.
  private readonly bySession = new Map<string, Entry>();
  private readonly byToken = new Map<string, TokenEntry>();
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    private readonly records: SessionRecords,
    intervalSeconds: number,
    private readonly log: FastifyBaseLogger,
  ) {
    records.onEnd((sid) => this.end(sid, 'session ended'));
    this.timer = setInterval(() => void this.sweep(), intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Keeps a socket whose upgrade passed the session check until it closes or its session ends. */
  track(sid: string, exp: number, socket: Socket): void {
    let entry = this.bySession.get(sid);
    if (!entry) {
      entry = { exp, sockets: new Set() };
      this.bySession.set(sid, entry);
    }
    const e = entry;
    e.sockets.add(socket);
    socket.once('close', () => {
      e.sockets.delete(socket);
      if (e.sockets.size === 0 && this.bySession.get(sid) === e) this.bySession.delete(sid);
    });
  }

  /** Keeps an API client's socket until it closes or its token's `end` (epoch seconds) has passed. */
  trackToken(hash: string, end: number, socket: Socket): void {
    let entry = this.byToken.get(hash);
    if (!entry) {
      entry = { end, sockets: new Set() };
      this.byToken.set(hash, entry);
      this.expireAt(hash, entry);
    }
    const e = entry;
    e.sockets.add(socket);
    socket.once('close', () => {
      e.sockets.delete(socket);
      if (e.sockets.size > 0 || this.byToken.get(hash) !== e) return;
      clearTimeout(e.timer);
      this.byToken.delete(hash);
    });
  }

  /** Open sockets (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const e of this.bySession.values()) n += e.sockets.size;
    for (const e of this.byToken.values()) n += e.sockets.size;
    return n;
  }

  close(): void {
    clearInterval(this.timer);
    for (const e of this.byToken.values()) clearTimeout(e.timer);
  }

  /** Ends the token's sockets once its end has passed by this clock (a timer may fire a little early). */
  private expireAt(hash: string, e: TokenEntry): void {
    const left = e.end * 1000 - Date.now();
    if (left <= 0 && this.byToken.get(hash) === e) {
      this.byToken.delete(hash);
      this.log.info(
        { event: 'websocket_closed', client: 'api', reason: 'token expired', sockets: e.sockets.size },
        'bearer token expired',
      );
      for (const socket of e.sockets) socket.destroy();
      return;
    }
    e.timer = setTimeout(() => this.expireAt(hash, e), Math.min(Math.max(left, 0), MAX_DELAY_MS));
    e.timer.unref();
  }

  /** Closes the session's sockets (a TCP close: the proxied upstream socket follows). */
  private end(sid: string, reason: string): void {
    const entry = this.bySession.get(sid);
    if (!entry) return;
    this.bySession.delete(sid);
    this.log.info({ event: 'websocket_closed', reason, sockets: entry.sockets.size }, 'session ended');
    for (const socket of entry.sockets) socket.destroy();
  }

  /** Rechecks every session with open sockets: gone elsewhere or past its lifetime ends them. */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const now = Date.now() / 1000;
      for (const [sid, entry] of [...this.bySession]) {
        if (entry.exp <= now) {
          this.end(sid, 'session lifetime over');
          continue;
        }
        const record = await this.records.get(sid, true).catch(() => undefined); // store down: keep
        if (record === null) this.end(sid, 'session revoked');
      }
    } finally {
      this.sweeping = false;
    }
  }
}
