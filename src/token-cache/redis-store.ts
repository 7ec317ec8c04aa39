// The shared token store on Redis (standalone, Sentinel or Cluster): fail-fast commands, errors translated here.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import type { TokenCacheConfig } from '../config/schema.js';
import { backoff, connect, toMs } from './redis-connect.js';
import {
  newStoreMetrics,
  type StatusListener,
  type Store,
  type StoreLogger,
  type StoreMetrics,
  type StoreStatus,
  StoreUnavailableError,
} from './store.js';

// Lock keys live beside data keys under the same prefix; account keys never start with this.
const LOCK_NAMESPACE = 'lock:';
const POLL_MS = 25;
// Deletes the lock only while it still holds our token: a stale owner must not free a new owner's lock.
const RELEASE_SCRIPT =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

const silent: StoreLogger = { warn() {}, info() {} };
// The cause of a command refused without being sent (a command timed out, no probe has answered since).
// Worded so that isTimeout() does not count it: refusing waits for nothing.
const TRIPPED = 'token store down: failing fast until it answers again';
// Lock releases kept for retry when Redis comes back (one per account refreshing during an outage).
const MAX_ORPHANED_LOCKS = 10_000;

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly metrics: StoreMetrics = newStoreMetrics();
  private readonly client: Redis | Cluster;
  private readonly listeners: StatusListener[] = [];
  private readonly logger: StoreLogger;
  private readonly closeWaitMs: number;
  private status: StoreStatus | undefined;
  private lastError: string | undefined;
  private closing = false;
  /** The connection answered its ready check and has not closed since. */
  private connected = false;
  /**
   * Set when a command timed out: until a probe (or a fresh connection) answers, every command fails at
   * once. Without it each command waits out its own timeout on a dead node (a Cluster master killed, a
   * black-holed server), so a request with two store reads waited twice, and the status said "up"
   * (a Cluster client never closes while other masters answer). With it a request waits at most one
   * command timeout, and the status says "down" exactly while requests are refused. The whole store,
   * not one Cluster node: which node serves a key is ioredis' business, and it changes in a failover.
   */
  private tripped = false;
  /**
   * Locks whose release failed (Redis unreachable), lock key to owner token. Redis may come back with
   * the lock still there (persistence, a short restart): it would then hold that account's refreshes
   * until it expires (15 s or more) though nobody holds it. Released again on reconnect instead.
   */
  private readonly orphanedLocks = new Map<string, string>();

  /** Connects in the background; never throws or rejects because Redis is down (status says 'down'). */
  constructor(config: TokenCacheConfig, logger: StoreLogger = silent) {
    this.logger = logger;
    this.closeWaitMs = config.commandTimeout * 1000;
    this.client = connect(config, logger);
    // Listening to 'error' also keeps ioredis from printing every failed reconnect attempt.
    this.client.on('error', (err: unknown) => {
      this.lastError = describe(err);
    });
    this.client.on('node error', (err: unknown) => {
      this.lastError = describe(err);
    });
    this.client.on('ready', () => {
      this.lastError = undefined;
      this.connected = true;
      this.tripped = false; // a fresh connection just answered
      this.setStatus('up');
    });
    this.client.on('close', () => {
      this.connected = false;
      this.setStatus('down', this.lastError ?? 'connection closed');
    });
  }

  async get(key: string): Promise<Buffer | null> {
    const value = await this.run(() => this.client.getBuffer(key), key);
    if (value === null) this.metrics.misses++;
    else this.metrics.hits++;
    return value;
  }

  async set(key: string, value: Buffer, ttlSeconds: number): Promise<void> {
    this.metrics.sets++;
    await this.run(() => this.client.set(key, value, 'PX', toMs(ttlSeconds * 1000)), key);
  }

  async del(key: string): Promise<void> {
    this.metrics.deletes++;
    await this.run(() => this.client.del(key), key);
  }

  async tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
    const lockKey = LOCK_NAMESPACE + key;
    const token = randomBytes(16).toString('hex');
    let reply: string | null;
    try {
      reply = await this.run(() => this.client.set(lockKey, token, 'PX', toMs(ttlMs), 'NX'), lockKey);
    } catch (err) {
      // A SET that timed out may still have been applied: ours to release once Redis answers again.
      this.orphan(lockKey, token);
      throw err;
    }
    if (reply !== 'OK') {
      this.metrics.locksBusy++;
      return null;
    }
    this.metrics.locksAcquired++;
    return async () => {
      try {
        await this.run(() => this.client.eval(RELEASE_SCRIPT, 1, lockKey, token), lockKey);
      } catch {
        // Not thrown (run() counted it): the lock expires by itself within ttlMs, and is released
        // once the store is up again.
        this.orphan(lockKey, token);
      }
    };
  }

  private orphan(lockKey: string, token: string): void {
    if (this.orphanedLocks.size >= MAX_ORPHANED_LOCKS) return;
    this.orphanedLocks.set(lockKey, token);
    // A command cut off by a dropped connection fails only at its timeout, often after a quick
    // reconnect (ioredis drops it without an error): already back, so release now.
    if (this.status === 'up') this.releaseOrphanedLocks();
  }

  /** Retries the releases that failed; the script deletes a lock only while it still holds our token. */
  private releaseOrphanedLocks(): void {
    for (const [lockKey, token] of this.orphanedLocks) {
      this.orphanedLocks.delete(lockKey);
      this.client.eval(RELEASE_SCRIPT, 1, lockKey, token).catch((err: unknown) => {
        this.translate(err);
        // Failing again: kept for the next reconnect (never retried at once, which could spin).
        if (!this.closing && this.orphanedLocks.size < MAX_ORPHANED_LOCKS) {
          this.orphanedLocks.set(lockKey, token);
        }
      });
    }
  }

  async waitUnlocked(key: string, waitMs: number): Promise<void> {
    // Polling, not keyspace notifications: those need server config that managed Redis often forbids.
    const lockKey = LOCK_NAMESPACE + key;
    const deadline = Date.now() + waitMs;
    for (;;) {
      if ((await this.run(() => this.client.exists(lockKey), lockKey)) === 0) return;
      const left = deadline - Date.now();
      if (left <= 0) return;
      await sleep(Math.min(POLL_MS, left));
    }
  }

  async ping(): Promise<void> {
    await this.run(() => this.client.ping());
  }

  /** QUIT (lets in-flight replies arrive); drops the socket if that takes longer than a command may. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    const quit = this.client.quit().then(
      () => true,
      () => false,
    );
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.closeWaitMs);
    });
    const quitted = await Promise.race([quit, timedOut]);
    clearTimeout(timer);
    if (!quitted) this.client.disconnect();
  }

  onStatus(listener: StatusListener): void {
    this.listeners.push(listener);
    if (this.status !== undefined) listener(this.status, this.status === 'down' ? this.lastError : undefined);
  }

  private setStatus(status: StoreStatus, detail?: string): void {
    // One log line per transition, never one per reconnect attempt; nothing once we are closing.
    if (this.closing || status === this.status) return;
    this.status = status;
    if (status === 'up') this.logger.info({ event: 'token_store', status }, 'token store connected');
    else this.logger.warn({ event: 'token_store', status, detail }, 'token store unavailable');
    for (const listener of this.listeners) listener(status, detail);
    if (status === 'up') this.releaseOrphanedLocks();
  }

  /** Runs one command for `key` (the probe's target if it times out), failing at once while tripped. */
  private async run<T>(op: () => Promise<T>, key?: string): Promise<T> {
    if (this.tripped) throw this.translate(new Error(TRIPPED));
    try {
      return await op();
    } catch (err) {
      const translated = this.translate(err);
      if (isTimeout(err)) this.trip(key);
      throw translated;
    }
  }

  private trip(key: string | undefined): void {
    if (this.tripped || this.closing) return;
    this.tripped = true;
    this.setStatus('down', 'a command timed out');
    void this.probe(key);
  }

  /**
   * While tripped: asks the store again (the key that timed out, so a Cluster asks the node serving its
   * slot) with growing pauses, and untrips on the first answer. Probes are not counted as operations.
   */
  private async probe(key: string | undefined): Promise<void> {
    for (let attempt = 1; this.tripped && !this.closing; attempt++) {
      try {
        await (key === undefined ? this.client.ping() : this.client.exists(key));
        if (!this.tripped) return;
        this.tripped = false;
        if (this.connected) this.setStatus('up');
        return;
      } catch {
        // Still unreachable (or timed out again): try again after a pause.
      }
      await sleep(backoff(attempt), undefined, { ref: false });
    }
  }

  /** The single place ioredis errors become ours: counted, scrubbed of command arguments, cause kept. */
  private translate(err: unknown): StoreUnavailableError {
    this.metrics.errors++;
    if (isTimeout(err)) this.metrics.timeouts++;
    scrub(err);
    return new StoreUnavailableError(err);
  }
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && /timed? ?out/i.test(err.message);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// ioredis attaches the failed command with its arguments (our encrypted values) to errors; drop them
// so logging the cause can never write a value.
function scrub(err: unknown): void {
  if (typeof err !== 'object' || err === null) return;
  const e = err as { command?: { name?: unknown }; lastNodeError?: unknown };
  if (e.command !== undefined) e.command = { name: e.command.name };
  if (e.lastNodeError !== undefined) scrub(e.lastNodeError);
}
