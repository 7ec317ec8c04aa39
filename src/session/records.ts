// Server-side session records: what makes sign-out real on every replica, and where large claims live.
//
// The cookie holds only ids and times; the record (claims, ID token for logout's id_token_hint) lives in
// the token store under `sess:<sid>`, sealed like token partitions. Each replica trusts a record it has
// read for session.revocationCheckInterval seconds: that is the bound for a sign-out elsewhere to take
// effect here. While the store is unavailable, a record already read stays usable up to 5x that bound;
// a session this replica has not seen gets 503. A session ended here is announced (onEnd), so its
// WebSockets close with it (src/auth/websockets.ts). The in-process cache keeps what requests read
// (claims, identity headers), not the ID token: sign-out reads that from the store (idTokenHint), so
// a session costs its ID token once, in the store, not twice (issue 18: memory per session).
import { LRUCache } from 'lru-cache';
import { openFrom, type Sealer, sealFor } from '../token-cache/crypto.js';
import type { Store } from '../token-cache/store.js';
import { type Claims, userHash } from './identity.js';
import { type ProviderRef, SessionIndex } from './logout-index.js';

export interface SessionRecord {
  /** homeAccountId of the token cache partition. */
  homeAccountId: string;
  claims: Claims;
  /** ID token, for id_token_hint at sign-out. */
  idToken?: string;
}

/** A record as stored; before issue 13 its fields were named {a, c, h} (read still: sessions outlive releases). */
type StoredRecord = SessionRecord | { a: string; c: Claims; h?: string };

const fromStored = (r: StoredRecord): SessionRecord =>
  'a' in r ? { homeAccountId: r.a, claims: r.c, ...(r.h === undefined ? {} : { idToken: r.h }) } : r;

/** What requests read of a record: all but the ID token. */
export type LiveRecord = Omit<SessionRecord, 'idToken'>;

export interface CachedRecord {
  record: LiveRecord;
  /** Identity headers, computed once per record load. */
  headers: Readonly<Record<string, string>>;
  /** userHash() of the claims, for log lines. */
  user: string;
  /** Trusted until then (epoch ms); usable while the store is down until 5x the interval after the read. */
  until: number;
}

const MAX_UNDELETED = 100_000;

export class SessionRecords {
  private readonly cache: LRUCache<string, CachedRecord>;
  private readonly trustMs: number;
  /** How long past `until` a record stays usable while the store is down (to 5x the interval in all). */
  private readonly staleMs: number;
  private readonly ended: ((sid: string) => void)[] = [];
  /** Sessions ended while the store was unreachable: refused here, their records deleted once it is back. */
  private readonly undeleted = new Set<string>();
  /** Sessions by the provider's `sid` and by user: what a sign-out at the provider names (logout-index.ts). */
  readonly index: SessionIndex;

  constructor(
    private readonly store: Store,
    private readonly sealer: Sealer | null,
    trustSeconds: number,
    private readonly headersOf: (r: LiveRecord) => Record<string, string>,
    max = 100_000,
  ) {
    this.trustMs = trustSeconds * 1000;
    this.staleMs = 4 * this.trustMs;
    this.cache = new LRUCache({ max });
    this.index = new SessionIndex(store, sealer);
  }

  /** `ref`: what the provider calls this session (its `sid`, the user), indexed for its sign-outs. */
  async create(sid: string, record: SessionRecord, ttlSeconds: number, ref?: ProviderRef): Promise<void> {
    const key = recordKey(sid);
    const plain = Buffer.from(JSON.stringify(record), 'utf8');
    await this.store.set(key, sealFor(this.sealer, plain, key), Math.ceil(ttlSeconds));
    this.remember(sid, record);
    if (ref) {
      const until = Math.floor(Date.now() / 1000) + Math.ceil(ttlSeconds);
      await this.index.add(ref, { session: sid, account: record.homeAccountId, until });
    }
  }

  /** The record if this replica read it within the trust interval (no store round trip), else undefined. */
  peek(sid: string): CachedRecord | undefined {
    const cached = this.cache.get(sid);
    return cached && cached.until > Date.now() ? cached : undefined;
  }

  /** The record, or null when the session was signed out (or expired) anywhere. `fresh`: skip the trust. */
  async get(sid: string, fresh = false): Promise<CachedRecord | null> {
    if (this.undeleted.has(sid)) return null;
    const now = Date.now();
    const cached = this.cache.get(sid);
    if (cached && cached.until > now && !fresh) return cached;
    let record: SessionRecord | null;
    try {
      record = await this.read(sid);
    } catch (err) {
      if (cached && cached.until + this.staleMs > now) return cached;
      throw err;
    }
    if (!record) {
      this.cache.delete(sid);
      return null;
    }
    return this.remember(sid, record);
  }

  /** The session's ID token for id_token_hint at sign-out, read from the store (undefined: none, or no record). */
  async idTokenHint(sid: string): Promise<string | undefined> {
    if (this.undeleted.has(sid)) return undefined;
    return (await this.read(sid))?.idToken;
  }

  private async read(sid: string): Promise<SessionRecord | null> {
    const blob = await this.store.get(recordKey(sid));
    const plain = blob && openFrom(this.sealer, blob, recordKey(sid));
    return plain ? fromStored(JSON.parse(plain.toString('utf8')) as StoredRecord) : null;
  }

  /**
   * Ends a session everywhere. With the store unreachable the record cannot be deleted yet: the session
   * is then refused here at once and the delete retried whenever the store is back (retryDeletes), so a
   * copied cookie does not come back to life with the store. Rejects, so the caller can say so.
   */
  async delete(sid: string): Promise<void> {
    this.cache.delete(sid);
    for (const listener of this.ended) listener(sid);
    try {
      await this.store.del(recordKey(sid));
    } catch (err) {
      if (this.undeleted.size < MAX_UNDELETED) this.undeleted.add(sid);
      throw err;
    }
  }

  /** Retries the deletes that failed (called when the store reports up). */
  retryDeletes(): void {
    for (const sid of this.undeleted) {
      this.store.del(recordKey(sid)).then(
        () => this.undeleted.delete(sid),
        () => undefined, // still failing: kept for the next time the store is up
      );
    }
  }

  /** Called with the session id whenever this replica ends a session (sign-out, dead grant, re-login). */
  onEnd(listener: (sid: string) => void): void {
    this.ended.push(listener);
  }

  private remember(sid: string, { homeAccountId, claims }: SessionRecord): CachedRecord {
    const record = { homeAccountId, claims };
    const entry = {
      record,
      headers: this.headersOf(record),
      user: userHash(claims),
      until: Date.now() + this.trustMs,
    };
    this.cache.set(sid, entry);
    return entry;
  }
}

export const recordKey = (sid: string) => `sess:${sid}`;
