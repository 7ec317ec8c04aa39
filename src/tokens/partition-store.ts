// Accounts' partitions in the token store: their key, sealing at rest, and the cross-replica refresh lock.
//
// Rules enforced:
// - a partition is sealed before it leaves the process (when keys are configured) and every write has the TTL;
// - a partition that is missing or does not decrypt means the user signs in again (InteractionRequired);
// - nobody refreshes without holding the account's lock: with rotating refresh tokens, two refreshes
//   from one refresh token make the provider revoke the whole grant (every replica's user signed out);
//   a caller finding the lock held waits for it, then reads what the holder wrote;
// - a removed account is a DEL, never an emptied shell.
import type { Logger } from 'pino';
import { ProviderUnavailableError } from '../errors.js';
import { openFrom, type Sealer, sealFor } from '../token-cache/crypto.js';
import type { Store } from '../token-cache/store.js';
import { InteractionRequired } from './errors.js';

/** The store key of an account's partition (locks live in the store's own namespace: lock:acct:<id>). */
const partitionKey = (homeAccountId: string) => `acct:${homeAccountId}`;

export class PartitionStore {
  constructor(
    private readonly store: Store,
    private readonly sealer: Sealer | null,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
    /** The token service's counters these reads and waits add to. */
    private readonly counters: { misses: number; lockWaits: number },
  ) {}

  /** The partition's JSON; InteractionRequired when there is none or it does not decrypt. */
  async load(homeAccountId: string): Promise<string> {
    const key = partitionKey(homeAccountId);
    const blob = await this.store.get(key);
    if (!blob) {
      this.counters.misses++;
      throw new InteractionRequired('no cached tokens for this account');
    }
    const plain = openFrom(this.sealer, blob, key);
    if (!plain) {
      this.logger.warn(
        { event: 'cache_undecryptable' },
        'a token cache entry does not decrypt (key rotated out?)',
      );
      throw new InteractionRequired('cache entry does not decrypt');
    }
    return plain.toString('utf8');
  }

  async save(homeAccountId: string, json: string): Promise<void> {
    const key = partitionKey(homeAccountId);
    const plain = Buffer.from(json, 'utf8');
    await this.store.set(key, sealFor(this.sealer, plain, key), this.ttlSeconds);
  }

  remove(homeAccountId: string): Promise<void> {
    return this.store.del(partitionKey(homeAccountId));
  }

  /**
   * `check(json)` answers from the partition when it can: first without the lock, again after each
   * wait for another holder, once more under the lock (a refresh may have just landed). Otherwise
   * `work(json)` runs holding the account's lock for at most lockMs.
   */
  async underLock<T>(
    homeAccountId: string,
    lockMs: number,
    check: (json: string) => T | undefined,
    work: (json: string) => Promise<T>,
  ): Promise<T> {
    let json = await this.load(homeAccountId);
    let answer = check(json);
    if (answer !== undefined) return answer;
    const lock = partitionKey(homeAccountId);
    const deadline = Date.now() + lockMs;
    let release = await this.store.tryLock(lock, lockMs);
    if (!release) this.counters.lockWaits++;
    while (!release) {
      if (Date.now() >= deadline) {
        throw new ProviderUnavailableError({ cause: new Error('token refresh lock still held') });
      }
      await this.store.waitUnlocked(lock, deadline - Date.now());
      json = await this.load(homeAccountId);
      answer = check(json);
      if (answer !== undefined) return answer;
      release = await this.store.tryLock(lock, lockMs);
    }
    try {
      json = await this.load(homeAccountId);
      answer = check(json);
      if (answer !== undefined) return answer;
      return await work(json);
    } finally {
      await release?.().catch(() => undefined); // an expired lock frees itself
    }
  }
}
