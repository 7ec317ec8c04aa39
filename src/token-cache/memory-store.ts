// The single-replica token store: a bounded LRU with per-entry TTL, and in-process locks.
//
// Entries are kept compact (compact.ts): with the memory cache every signed-in user's partition and
// session record live here. Reads unpack into a fresh Buffer: callers can't mutate the cache through
// it (as with Redis).
import { LRUCache } from 'lru-cache';
import { pack, unpack } from './compact.js';
import { newStoreMetrics, type StatusListener, type Store, type StoreMetrics } from './store.js';

export interface MemoryStoreOptions {
  /** Most entries kept; the least recently used goes first. Also bounds the lock table. */
  maxEntries: number;
}

interface Lock {
  token: symbol;
  expiresAt: number;
  /** Waiters to wake on release. */
  waiters: Set<() => void>;
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  readonly metrics: StoreMetrics = newStoreMetrics();
  private readonly entries: LRUCache<string, string>;
  // A plain Map in insertion order: when full, the oldest lock goes first (a lost lock only costs a
  // duplicate refresh, while refusing locks would stall every account).
  private readonly locks = new Map<string, Lock>();
  private readonly maxLocks: number;

  constructor(options: MemoryStoreOptions) {
    this.entries = new LRUCache<string, string>({ max: options.maxEntries });
    this.maxLocks = options.maxEntries;
  }

  async get(key: string): Promise<Buffer | null> {
    const value = this.entries.get(key);
    if (value === undefined) {
      this.metrics.misses++;
      return null;
    }
    this.metrics.hits++;
    return unpack(value);
  }

  async set(key: string, value: Buffer, ttlSeconds: number): Promise<void> {
    this.metrics.sets++;
    this.entries.set(key, pack(value), { ttl: Math.max(1, Math.round(ttlSeconds * 1000)) });
  }

  /** Bytes the values take as kept (compressed, one byte a char), for the memory bench and tests. */
  storedBytes(): number {
    let sum = 0;
    for (const kept of this.entries.values()) sum += kept.length;
    return sum;
  }

  async del(key: string): Promise<void> {
    this.metrics.deletes++;
    this.entries.delete(key);
  }

  async tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
    const now = Date.now();
    const held = this.locks.get(key);
    if (held !== undefined && held.expiresAt > now) {
      this.metrics.locksBusy++;
      return null;
    }
    if (held !== undefined) this.unlock(key, held);
    this.makeRoom();
    const lock: Lock = { token: Symbol(key), expiresAt: now + ttlMs, waiters: new Set() };
    this.locks.set(key, lock);
    this.metrics.locksAcquired++;
    return async () => {
      // Only the owner's own lock goes: after expiry someone else may hold this key.
      if (this.locks.get(key)?.token === lock.token) this.unlock(key, lock);
    };
  }

  waitUnlocked(key: string, waitMs: number): Promise<void> {
    const lock = this.locks.get(key);
    if (lock === undefined || lock.expiresAt <= Date.now()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        lock.waiters.delete(done);
        resolve();
      };
      // Wake at release, at the lock's expiry, or at the deadline, whichever comes first.
      const timer = setTimeout(done, Math.max(0, Math.min(waitMs, lock.expiresAt - Date.now())));
      lock.waiters.add(done);
    });
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    for (const [key, lock] of this.locks) this.unlock(key, lock);
    this.entries.clear();
  }

  onStatus(listener: StatusListener): void {
    // Memory is always up; tell the listener once, as the Redis store tells the current status.
    listener('up');
  }

  private unlock(key: string, lock: Lock): void {
    this.locks.delete(key);
    for (const wake of [...lock.waiters]) wake();
  }

  private makeRoom(): void {
    // Oldest first: with similar TTLs those are the expired ones anyway.
    for (const [key, lock] of this.locks) {
      if (this.locks.size < this.maxLocks) break;
      this.unlock(key, lock);
    }
  }
}
