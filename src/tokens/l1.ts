// The in-process access-token cache (L1) per account, and the single-flight that fills it.
//
// Rules enforced:
// - an entry ends at its token's renewal point, and a user's entry after at most tokenCache.l1Ttl
//   (the bound for a sign-out on another replica to reach this one); app tokens are no user's;
// - a lookup is synchronous and allocates nothing (the signed-in request path peeks without a promise);
// - callers asking for the same flight while it runs share its promise (one store read, one refresh).
// An account's only token (the usual case: one API) is kept as is, a Map only from its second scopes
// key: a Map with one entry costs more than the entry (issue 18: memory per session).
import { LRUCache } from 'lru-cache';
import type { FreshToken } from './partition.js';

export interface L1Entry {
  readonly token: string;
  /** Epoch ms. */
  readonly expiresOn: number;
  /** Epoch ms: when this entry stops being served. */
  readonly until: number;
}

/** An account's only entry, with its scopes key. */
interface OnlyEntry extends L1Entry {
  readonly key: string;
}

export class L1 {
  private readonly accounts: LRUCache<string, OnlyEntry | Map<string, L1Entry>>;

  constructor(
    maxAccounts: number,
    private readonly userTtlMs: number,
  ) {
    this.accounts = new LRUCache({ max: maxAccounts });
  }

  /** The entry for the account and key if it is still served, else undefined. */
  get(id: string, key: string): L1Entry | undefined {
    const kept = this.accounts.get(id);
    const hit = kept instanceof Map ? kept.get(key) : kept?.key === key ? kept : undefined;
    return hit && hit.until > Date.now() ? hit : undefined;
  }

  /** Keeps a token until its renewal point; a user's (`user`) for at most l1Ttl. */
  put(id: string, key: string, t: FreshToken, user: boolean): void {
    const until = user ? Math.min(t.renewAt, Date.now() + this.userTtlMs) : t.renewAt;
    if (!(until > Date.now())) return;
    const entry: L1Entry = { token: t.accessToken, expiresOn: t.expiresOn, until };
    const kept = this.accounts.get(id);
    if (kept instanceof Map) kept.set(key, entry);
    else if (kept === undefined || kept.key === key) this.accounts.set(id, { key, ...entry });
    else {
      const { key: other, ...only } = kept;
      this.accounts.set(
        id,
        new Map([
          [other, only],
          [key, entry],
        ]),
      );
    }
  }

  /** Sign-out, a dead grant or a new sign-in: this replica forgets the account's tokens. */
  forget(id: string): void {
    this.accounts.delete(id);
  }
}

/** One promise per flight key while it runs: later callers join it instead of starting their own. */
export class SingleFlight<T> {
  private readonly running = new Map<string, Promise<T>>();

  run(flight: string, start: () => Promise<T>): Promise<T> {
    let pending = this.running.get(flight);
    if (!pending) {
      pending = start().finally(() => this.running.delete(flight));
      this.running.set(flight, pending);
    }
    return pending;
  }
}
