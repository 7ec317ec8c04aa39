// Which sessions a provider-initiated sign-out names: authward's sessions indexed by the provider's `sid` and by user.
//
// A logout token (back-channel) or a front-channel request names the provider's session (`iss` + `sid`)
// or the user (`iss` + `sub`), never authward's own session id: these two indexes map one to the other.
// They live in the token store beside the records (so every replica finds what any replica wrote),
// sealed like them, under hashed keys (no user id or provider session id in a key name), each with a
// TTL of the longest session it lists. Bounded: at most MAX_ENTRIES sessions per key, the oldest dropped
// first (an index entry is only a pointer: the record and its own TTL decide whether a session lives).
import { createHash } from 'node:crypto';
import { openFrom, type Sealer, sealFor } from '../token-cache/crypto.js';
import type { Store } from '../token-cache/store.js';

/** One indexed session: authward's session id, its token cache account, its end (epoch seconds). */
export interface IndexedSession {
  session: string;
  account: string;
  until: number;
}

/** What the provider names: its issuer, and its session id and/or the user's subject. */
export interface ProviderRef {
  iss: string;
  sid?: string | undefined;
  sub?: string | undefined;
}

export const MAX_ENTRIES = 64;
const LOCK_MS = 2000;

const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('base64url');
export const sidKey = (iss: string, sid: string) => `plo:sid:${digest(iss, sid)}`;
export const subKey = (iss: string, sub: string) => `plo:sub:${digest(iss, sub)}`;

export class SessionIndex {
  constructor(
    private readonly store: Store,
    private readonly sealer: Sealer | null,
  ) {}

  /** Indexes a new session under the provider's sid (when the ID token has one) and under its user. */
  async add(ref: ProviderRef, entry: IndexedSession): Promise<void> {
    const keys = [ref.sid && sidKey(ref.iss, ref.sid), ref.sub && subKey(ref.iss, ref.sub)];
    await Promise.all(keys.map((k) => k && this.update(k, (list) => [...list, entry])));
  }

  /** The sessions the provider names: by `sid` when given, else every session of `sub`. */
  async find(ref: ProviderRef): Promise<IndexedSession[]> {
    const key = this.keyOf(ref);
    return key ? this.read(key) : [];
  }

  /**
   * Forgets what `ref` names (after its sessions were ended); with both `sid` and `sub`, also those
   * sessions in the user's list. (Other lists that still name an ended session are harmless: a pointer
   * to a deleted record ends nothing; they expire with their TTL.)
   */
  async forget(ref: ProviderRef, ended: readonly string[]): Promise<void> {
    const key = this.keyOf(ref);
    if (key) await this.store.del(key);
    if (ref.sid && ref.sub && ended.length > 0) {
      await this.update(subKey(ref.iss, ref.sub), (list) => list.filter((e) => !ended.includes(e.session)));
    }
  }

  /**
   * True the first time `iss` + `id` is seen within ttlMs, on any replica sharing the store (SET NX with
   * a TTL); `undo` forgets it again (the work it guarded failed: a retry must not look like a replay).
   */
  async firstUse(iss: string, id: string, ttlMs: number): Promise<{ undo: () => Promise<void> } | null> {
    const release = await this.store.tryLock(`plo:jti:${digest(iss, id)}`, ttlMs);
    return release && { undo: release };
  }

  private keyOf(ref: ProviderRef): string | undefined {
    if (ref.sid) return sidKey(ref.iss, ref.sid);
    return ref.sub ? subKey(ref.iss, ref.sub) : undefined;
  }

  private async read(key: string): Promise<IndexedSession[]> {
    const blob = await this.store.get(key);
    const plain = blob && openFrom(this.sealer, blob, key);
    if (!plain) return [];
    try {
      const list = JSON.parse(plain.toString('utf8')) as unknown;
      return Array.isArray(list) ? (list as IndexedSession[]) : [];
    } catch {
      return [];
    }
  }

  /**
   * Read, change, write, under the key's lock so two replicas indexing the same user at once do not
   * lose one entry. A lock still busy after one wait is not waited for again: an index update is not
   * worth holding up a sign-in.
   */
  private async update(key: string, change: (list: IndexedSession[]) => IndexedSession[]): Promise<void> {
    let release = await this.store.tryLock(key, LOCK_MS);
    if (!release) {
      await this.store.waitUnlocked(key, LOCK_MS);
      release = await this.store.tryLock(key, LOCK_MS);
    }
    try {
      const now = Math.floor(Date.now() / 1000);
      const list = change(await this.read(key))
        .filter((e) => e.until > now)
        .slice(-MAX_ENTRIES);
      if (list.length === 0) return await this.store.del(key);
      const plain = Buffer.from(JSON.stringify(list), 'utf8');
      const ttl = Math.max(...list.map((e) => e.until)) - now;
      await this.store.set(key, sealFor(this.sealer, plain, key), ttl);
    } finally {
      await release?.();
    }
  }
}
