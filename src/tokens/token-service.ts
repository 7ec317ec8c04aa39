// Tokens per account: code redemption, silent acquisition (L1 → store → one refresh), app tokens, purge.
//
// Rules enforced:
// - one MSAL client per call, bound to exactly one account's partition: the cross-user hazard of a
//   shared client (deserialize keeps the previous user's entries) cannot happen by construction;
// - a fresh access token in the in-process L1 costs no store round trip; L1 entries end before the
//   token's renewal point and after at most tokenCache.l1Ttl (the bound for logout on other replicas);
// - a refresh happens once: single-flight per account+scopes in-process, a short store lock per
//   account across replicas (others wait, then read the refreshed partition); nobody refreshes
//   without holding the lock;
// - a dead grant (invalid_grant, interaction required) deletes the partition (a DEL, no empty shell).
import type { AccountInfo, AuthenticationResult, ICachePlugin } from '@azure/msal-node';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { TokenCacheConfig } from '../config/schema.js';
import { ProviderUnavailableError } from '../errors.js';
import type { Sealer } from '../token-cache/crypto.js';
import type { Store } from '../token-cache/store.js';
import { InteractionRequired, translateMsalError } from './errors.js';
import type { Provider } from './provider.js';

/** The minimal MSAL AccountInfo kept in the session cookie (saves an account lookup per acquisition). */
export interface AccountRef {
  homeAccountId: string;
  environment: string;
  tenantId: string;
  username: string;
  localAccountId: string;
}

export interface AcquiredToken {
  accessToken: string;
  /** Epoch ms. */
  expiresOn: number;
  source: 'l1' | 'store' | 'refresh' | 'app';
}

interface L1Entry {
  token: string;
  expiresOn: number;
  until: number;
}

const MSAL_RENEWAL_MS = 300_000; // MSAL renews 5 minutes before expiry, not configurable
const LOCK_MS = 15_000; // at least; longer when the provider timeout is
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);
const APP = '\u0000app';

export const scopesKey = (scopes: readonly string[]) =>
  [...scopes]
    .map((s) => s.toLowerCase())
    .sort()
    .join(' ');

export class TokenService {
  readonly metrics = {
    l1Hits: 0,
    storeHits: 0,
    misses: 0,
    refreshes: 0,
    refreshFailures: 0,
    lockWaits: 0,
    appTokens: 0,
  };
  private readonly l1: LRUCache<string, Map<string, L1Entry>>;
  private readonly inflight = new Map<string, Promise<AcquiredToken>>();
  private appClient: ReturnType<Provider['client']> | undefined;

  constructor(
    private readonly provider: Provider,
    private readonly store: Store,
    private readonly sealer: Sealer | null,
    private readonly cfg: TokenCacheConfig,
    private readonly logger: Logger,
  ) {
    this.l1 = new LRUCache({ max: cfg.l1MaxEntries });
  }

  // ---------------------------------------------------------------- sign-in

  /** Redeems an authorization code; the new account's partition is written before this returns. */
  async redeem(
    req: {
      code: string;
      codeVerifier: string;
      redirectUri: string;
      scopes: string[];
      state: string;
      nonce: string;
      claims?: string | undefined;
    },
    verify: (result: AuthenticationResult) => Promise<void>,
  ): Promise<AuthenticationResult & { account: AccountInfo }> {
    let serialized: string | undefined;
    const cca = this.provider.client(capture((json) => (serialized = json)));
    let result: AuthenticationResult;
    try {
      result = await cca.acquireTokenByCode(
        {
          code: req.code,
          codeVerifier: req.codeVerifier,
          redirectUri: req.redirectUri,
          scopes: req.scopes,
          state: req.state,
          nonce: req.nonce, // MSAL checks the ID token's nonce against the request's
          ...(req.claims ? { claims: req.claims } : {}),
        },
        { code: req.code, state: req.state },
      );
    } catch (err) {
      throw translateMsalError(err);
    }
    if (!result.account) throw new InteractionRequired('no account in token response');
    await verify(result); // nothing is cached for an ID token that fails our own checks
    serialized ??= cca.getTokenCache().serialize();
    this.l1.delete(result.account.homeAccountId);
    await this.savePartition(result.account.homeAccountId, serialized);
    return result as AuthenticationResult & { account: AccountInfo };
  }

  // ---------------------------------------------------------------- silent acquisition

  /** The access token if fresh in the in-process L1 (counted as an L1 hit), else undefined. */
  peek(account: AccountRef, key: string): string | undefined {
    const hit = this.l1.get(account.homeAccountId)?.get(key);
    if (!hit || hit.until <= Date.now()) return undefined;
    this.metrics.l1Hits++;
    return hit.token;
  }

  /** An access token for the account and scopes. `key` is scopesKey(scopes), computed once per route. */
  acquire(
    account: AccountRef,
    scopes: readonly string[],
    key: string,
    claims?: string,
  ): Promise<AcquiredToken> {
    if (!claims) {
      const hit = this.l1.get(account.homeAccountId)?.get(key);
      if (hit && hit.until > Date.now()) {
        this.metrics.l1Hits++;
        return Promise.resolve({ accessToken: hit.token, expiresOn: hit.expiresOn, source: 'l1' });
      }
    }
    const flight = `${account.homeAccountId}\n${key}\n${claims ?? ''}`;
    let pending = this.inflight.get(flight);
    if (!pending) {
      pending = this.fromStore(account, scopes, key, claims).finally(() => this.inflight.delete(flight));
      this.inflight.set(flight, pending);
    }
    return pending;
  }

  private async fromStore(account: AccountRef, scopes: readonly string[], key: string, claims?: string) {
    const id = account.homeAccountId;
    let json = await this.loadPartition(id);
    if (!claims && hasFreshToken(json, id, scopes)) return this.silent(account, scopes, key, json);

    const lock = partitionKey(id); // the store keeps locks in their own namespace (lock:acct:<id>)
    // The lock must outlive the refresh it guards (one provider call), or a second replica would
    // refresh with the same refresh token while the first is still waiting for its answer.
    const lockMs = Math.max(LOCK_MS, (this.provider.config.timeout + 5) * 1000);
    const deadline = Date.now() + lockMs;
    let release = await this.store.tryLock(lock, lockMs);
    if (!release) this.metrics.lockWaits++;
    while (!release) {
      // Another replica (or flight) is refreshing this account: wait for it, then read what it wrote.
      // Never refresh without the lock: with rotating refresh tokens, two refreshes from the same
      // refresh token make the provider revoke the whole grant (every replica's user signed out).
      if (Date.now() >= deadline) {
        throw new ProviderUnavailableError({ cause: new Error('token refresh lock still held') });
      }
      await this.store.waitUnlocked(lock, deadline - Date.now());
      json = await this.loadPartition(id);
      if (!claims && hasFreshToken(json, id, scopes)) return this.silent(account, scopes, key, json);
      release = await this.store.tryLock(lock, lockMs);
    }
    try {
      json = await this.loadPartition(id); // re-read under the lock: a refresh may have just landed
      if (!claims && hasFreshToken(json, id, scopes)) return await this.silent(account, scopes, key, json);
      try {
        return await this.silent(account, scopes, key, json, claims);
      } catch (err) {
        // A failed attempt counts as a grant sent (the usual causes are the provider's answers).
        this.metrics.refreshes++;
        this.metrics.refreshFailures++;
        throw err;
      }
    } finally {
      await release?.().catch(() => undefined); // an expired lock frees itself
    }
  }

  private async silent(
    account: AccountRef,
    scopes: readonly string[],
    key: string,
    json: string,
    claims?: string,
  ): Promise<AcquiredToken> {
    let changed: string | undefined;
    const cca = this.provider.client({
      beforeCacheAccess: async (ctx) => ctx.tokenCache.deserialize(json),
      afterCacheAccess: async (ctx) => {
        if (ctx.cacheHasChanged) changed = ctx.tokenCache.serialize();
      },
    });
    let result: AuthenticationResult;
    try {
      result = await cca.acquireTokenSilent({
        account: { ...account, name: undefined } as AccountInfo,
        scopes: [...scopes],
        ...(claims ? { claims } : {}),
      });
    } catch (err) {
      const e = translateMsalError(err);
      if (e instanceof InteractionRequired && !e.consent) {
        this.logger.info(
          { event: 'grant_dead', reason: e.reason },
          'refresh failed: account removed from the cache',
        );
        await this.removeAccount(account.homeAccountId);
      }
      throw e;
    }
    if (changed) await this.savePartition(account.homeAccountId, changed);
    // Counted by what MSAL did, not by what we expected: a token our (stricter) freshness check turned
    // down may still be one MSAL serves from cache, and that is no refresh.
    const served = result.fromCache ? 'store' : 'refresh';
    if (served === 'store') this.metrics.storeHits++;
    else this.metrics.refreshes++;
    return this.remember(account.homeAccountId, key, result, served);
  }

  // ---------------------------------------------------------------- app-only tokens

  /** Client-credentials token of the application itself (not user data: one shared MSAL client). */
  appToken(scopes: readonly string[], key: string): Promise<AcquiredToken> {
    const hit = this.l1.get(APP)?.get(key);
    if (hit && hit.until > Date.now()) {
      this.metrics.l1Hits++;
      return Promise.resolve({ accessToken: hit.token, expiresOn: hit.expiresOn, source: 'l1' });
    }
    const flight = `${APP}\n${key}`;
    let pending = this.inflight.get(flight);
    if (!pending) {
      pending = (async () => {
        this.appClient ??= this.provider.client();
        let result: AuthenticationResult | null;
        try {
          result = await this.appClient.acquireTokenByClientCredential({ scopes: [...scopes] });
        } catch (err) {
          throw translateMsalError(err);
        }
        if (!result) throw new InteractionRequired('no app token');
        this.metrics.appTokens++;
        return this.remember(APP, key, result, 'app');
      })().finally(() => this.inflight.delete(flight));
      this.inflight.set(flight, pending);
    }
    return pending;
  }

  // ---------------------------------------------------------------- purge

  /** Sign-out or dead grant: the partition is deleted and this replica's L1 forgets the account. */
  async removeAccount(homeAccountId: string): Promise<void> {
    this.l1.delete(homeAccountId);
    await this.store.del(partitionKey(homeAccountId));
  }

  // ---------------------------------------------------------------- helpers

  private remember(id: string, key: string, r: AuthenticationResult, source: AcquiredToken['source']) {
    const expiresOn = r.expiresOn?.getTime() ?? Date.now();
    const until = Math.min(expiresOn - MSAL_RENEWAL_MS, Date.now() + this.cfg.l1Ttl * 1000);
    if (until > Date.now()) {
      let entries = this.l1.get(id);
      if (!entries) {
        entries = new Map();
        this.l1.set(id, entries);
      }
      entries.set(key, { token: r.accessToken, expiresOn, until });
    }
    return { accessToken: r.accessToken, expiresOn, source };
  }

  private async loadPartition(homeAccountId: string): Promise<string> {
    const key = partitionKey(homeAccountId);
    const blob = await this.store.get(key);
    if (!blob) {
      this.metrics.misses++;
      throw new InteractionRequired('no cached tokens for this account');
    }
    const plain = this.sealer ? this.sealer.open(blob, key) : blob;
    if (!plain) {
      this.logger.warn(
        { event: 'cache_undecryptable' },
        'a token cache entry does not decrypt (key rotated out?)',
      );
      throw new InteractionRequired('cache entry does not decrypt');
    }
    return plain.toString('utf8');
  }

  private async savePartition(homeAccountId: string, json: string): Promise<void> {
    const key = partitionKey(homeAccountId);
    const plain = Buffer.from(json, 'utf8');
    await this.store.set(key, this.sealer ? this.sealer.seal(plain, key) : plain, this.cfg.ttl);
  }
}

export const partitionKey = (homeAccountId: string) => `acct:${homeAccountId}`;

function capture(save: (json: string) => void): ICachePlugin {
  return {
    beforeCacheAccess: async () => undefined,
    afterCacheAccess: async (ctx) => {
      if (ctx.cacheHasChanged) save(ctx.tokenCache.serialize());
    },
  };
}

/** Whether MSAL would answer from cache (no refresh): an access token for all scopes, before renewal. */
export function hasFreshToken(json: string, homeAccountId: string, scopes: readonly string[]): boolean {
  let cache: {
    AccessToken?: Record<string, { home_account_id?: string; target?: string; expires_on?: string }>;
  };
  try {
    cache = JSON.parse(json);
  } catch {
    return false;
  }
  const wanted = scopes.map((s) => s.toLowerCase()).filter((s) => !OIDC_SCOPES.has(s));
  const renewAt = Date.now() + MSAL_RENEWAL_MS + 5_000;
  for (const at of Object.values(cache.AccessToken ?? {})) {
    if (at.home_account_id !== homeAccountId || Number(at.expires_on) * 1000 <= renewAt) continue;
    const target = new Set((at.target ?? '').toLowerCase().split(' '));
    if (wanted.every((s) => target.has(s))) return true;
  }
  return false;
}
