// The one token-store contract every backend (memory, Redis) implements, its error and its counters.
import { TokenStoreUnavailableError } from '../errors.js';

export type StoreStatus = 'up' | 'down';

/**
 * The account a session's tokens belong to: the minimal MSAL AccountInfo kept in the session cookie
 * (saves an account lookup per acquisition). Its homeAccountId names the account's partition here.
 */
export interface AccountRef {
  homeAccountId: string;
  environment: string;
  tenantId: string;
  username: string;
  localAccountId: string;
}

export interface Store {
  readonly kind: 'memory' | 'redis';
  readonly metrics: StoreMetrics;
  /** Keys are given without the configured prefix; the store applies it. */
  get(key: string): Promise<Buffer | null>;
  /** Every entry gets a TTL, so an abandoned account's tokens never outlive it. */
  set(key: string, value: Buffer, ttlSeconds: number): Promise<void>;
  del(key: string): Promise<void>;
  /**
   * Short cross-replica lock (Redis: SET NX PX; release deletes only while still the owner).
   * Returns a release function, or null when someone else holds it. Release never rejects: the lock
   * expires by itself, and a failing release must not hide the outcome of the work it guarded.
   */
  tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | null>;
  /** Resolves once the lock is free or waitMs passed (whichever is first). */
  waitUnlocked(key: string, waitMs: number): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * 'up' / 'down' transitions, for readiness and metrics. 'down' whenever operations fail (Redis: the
   * connection is gone, or a command timed out and operations fail at once until Redis answers again).
   * A new listener is told the current status at once (when known), so late subscribers need no
   * separate getter.
   */
  onStatus(listener: StatusListener): void;
}

export type StatusListener = (status: StoreStatus, detail?: string) => void;

/** Plain counters, read by a metrics endpoint. */
export interface StoreMetrics {
  hits: number;
  misses: number;
  sets: number;
  deletes: number;
  /** Operations that failed with StoreUnavailableError. */
  errors: number;
  /** Of those, the ones that hit the command timeout. */
  timeouts: number;
  locksAcquired: number;
  locksBusy: number;
}

export function newStoreMetrics(): StoreMetrics {
  return { hits: 0, misses: 0, sets: 0, deletes: 0, errors: 0, timeouts: 0, locksAcquired: 0, locksBusy: 0 };
}

/** The logger surface stores use (a pino logger fits). */
export interface StoreLogger {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
}

/**
 * Any backend failure, translated at the store boundary (cause kept). It is the catalogue's
 * TokenStoreUnavailableError (AW_TOKEN_STORE_UNAVAILABLE, 503), so the error handler answers it as is.
 */
export class StoreUnavailableError extends TokenStoreUnavailableError {
  constructor(cause?: unknown) {
    super({ cause });
    this.name = 'StoreUnavailableError';
  }
}
