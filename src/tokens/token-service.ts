// Tokens per account: code redemption, silent acquisition (L1 → store → one refresh), app tokens, purge.
//
// Rules enforced:
// - one MSAL client per call, bound to exactly one account's partition: the cross-user hazard of a
//   shared client (deserialize keeps the previous user's entries) cannot happen by construction;
// - a fresh access token in the in-process L1 costs no store round trip; L1 entries end before the
//   token's renewal point and after at most tokenCache.l1Ttl (the bound for logout on other replicas);
// - a fresh access token in the partition is served without MSAL (partition.ts: whatever the
//   issuer's shape, with a renewal point relative to the token's lifetime); MSAL is called to refresh;
// - after each MSAL call the partition's new entries belong to its account (partition.ts), so
//   rotating refresh tokens keep working when refresh responses carry no id_token;
// - no empty or malformed access token is ever returned (the provider's answer is checked);
// - a refresh happens once: single-flight per account+scopes in-process, a short store lock per
//   account across replicas (others wait, then read the refreshed partition); nobody refreshes
//   without holding the lock;
// - a dead grant (invalid_grant, interaction required) deletes the partition (a DEL, no empty shell).
import type { AccountInfo, AuthenticationResult, ICachePlugin } from '@azure/msal-node';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { TokenCacheConfig } from '../config/schema.js';
import { ProviderConfigError, ProviderUnavailableError } from '../errors.js';
import type { Sealer } from '../token-cache/crypto.js';
import type { AccountRef, Store } from '../token-cache/store.js';
import { InteractionRequired, translateMsalError } from './errors.js';
import { adoptOrphans, type FreshToken, freshToken, renewalPoint, wellFormedToken } from './partition.js';
import type { Provider } from './provider.js';

export interface AcquiredToken {
  accessToken: string;
  /** Epoch ms. */
  expiresOn: number;
  source: 'l1' | 'store' | 'refresh' | 'app';
}

interface TokenRequest {
  scopes: readonly string[];
  /** scopesKey(scopes, resource). */
  key: string;
  claims?: string | undefined;
  resource?: string | undefined;
}

interface L1Entry {
  token: string;
  expiresOn: number;
  until: number;
}

const LOCK_MS = 15_000; // at least; longer when the provider timeout is
const APP = '\u0000app';

/** The cache key of a token request: its scopes, and its RFC 8707 resource when it has one. */
export const scopesKey = (scopes: readonly string[], resource?: string) =>
  [...scopes]
    .map((s) => s.toLowerCase())
    .sort()
    .join(' ') + (resource ? `\n${resource}` : '');

/** A provider answer that is no usable bearer token: never injected, never cached (503, session kept). */
const malformedToken = () =>
  new ProviderUnavailableError({
    cause: new Error('the provider returned an empty or malformed access token'),
  });

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
  private readonly appClients = new Map<string, ReturnType<Provider['client']>>();

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
      throw this.translate(err);
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

  /**
   * An access token for the account and scopes (and RFC 8707 resource). `key` is
   * scopesKey(scopes, resource), computed once per route.
   */
  acquire(
    account: AccountRef,
    scopes: readonly string[],
    key: string,
    claims?: string,
    resource?: string,
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
      pending = this.fromStore(account, { scopes, key, claims, resource }).finally(() =>
        this.inflight.delete(flight),
      );
      this.inflight.set(flight, pending);
    }
    return pending;
  }

  private async fromStore(account: AccountRef, req: TokenRequest) {
    const id = account.homeAccountId;
    const { claims } = req;
    let json = await this.loadPartition(id);
    let hit = claims ? undefined : this.fresh(json, id, req);
    if (hit) return this.served(id, req.key, hit);

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
      hit = claims ? undefined : this.fresh(json, id, req);
      if (hit) return this.served(id, req.key, hit);
      release = await this.store.tryLock(lock, lockMs);
    }
    try {
      json = await this.loadPartition(id); // re-read under the lock: a refresh may have just landed
      hit = claims ? undefined : this.fresh(json, id, req);
      if (hit) return this.served(id, req.key, hit);
      try {
        return await this.refresh(account, req, json);
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

  private fresh(json: string, id: string, req: TokenRequest): FreshToken | undefined {
    return freshToken(json, id, req.scopes, req.resource, this.cfg.renewWindow);
  }

  private served(id: string, key: string, hit: FreshToken): AcquiredToken {
    this.metrics.storeHits++;
    return this.remember(id, key, hit, 'store');
  }

  /** One provider call (refresh token grant) under the account's lock; the partition is rewritten. */
  private async refresh(account: AccountRef, req: TokenRequest, json: string): Promise<AcquiredToken> {
    const { scopes, key, claims, resource } = req;
    const started = Date.now();
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
        // We found no fresh token ourselves: MSAL's lookup (realm-keyed, 300 s window) is not asked.
        forceRefresh: true,
        ...(claims ? { claims } : {}),
        ...(resource ? { resource } : {}),
      });
    } catch (err) {
      const e = this.translate(err);
      if (e instanceof InteractionRequired && !e.consent) {
        this.logger.info(
          { event: 'grant_dead', reason: e.reason },
          'refresh failed: account removed from the cache',
        );
        await this.removeAccount(account.homeAccountId);
      }
      throw e;
    }
    if (!wellFormedToken(result.accessToken)) {
      // Not cached either: the partition keeps its previous state.
      this.logger.warn(
        { event: 'malformed_token' },
        'the provider returned an empty or malformed access token',
      );
      throw malformedToken();
    }
    if (changed)
      await this.savePartition(account.homeAccountId, adoptOrphans(changed, account.homeAccountId));
    this.metrics.refreshes++;
    const expiresOn = result.expiresOn?.getTime() ?? started;
    const renewAt = renewalPoint(
      started / 1000,
      expiresOn / 1000,
      this.cfg.renewWindow,
      result.refreshOn ? result.refreshOn.getTime() / 1000 : undefined,
    );
    return this.remember(
      account.homeAccountId,
      key,
      { accessToken: result.accessToken, expiresOn, renewAt },
      'refresh',
    );
  }

  // ---------------------------------------------------------------- app-only tokens

  /** Client-credentials token of the application itself (not user data: one MSAL client per resource). */
  appToken(scopes: readonly string[], key: string, resource?: string): Promise<AcquiredToken> {
    const hit = this.l1.get(APP)?.get(key);
    if (hit && hit.until > Date.now()) {
      this.metrics.l1Hits++;
      return Promise.resolve({ accessToken: hit.token, expiresOn: hit.expiresOn, source: 'l1' });
    }
    const flight = `${APP}\n${key}`;
    let pending = this.inflight.get(flight);
    if (!pending) {
      pending = (async () => {
        // MSAL's client-credentials request has no `resource`: the client's network layer adds it.
        let client = this.appClients.get(resource ?? '');
        if (!client) {
          client = this.provider.client(undefined, resource ? { resource } : undefined);
          this.appClients.set(resource ?? '', client);
        }
        const started = Date.now();
        let result: AuthenticationResult | null;
        try {
          result = await client.acquireTokenByClientCredential({ scopes: [...scopes] });
        } catch (err) {
          throw this.translate(err);
        }
        if (!result) throw new InteractionRequired('no app token');
        if (!wellFormedToken(result.accessToken)) {
          this.logger.warn(
            { event: 'malformed_token' },
            'the provider returned an empty or malformed app token',
          );
          throw malformedToken();
        }
        this.metrics.appTokens++;
        const expiresOn = result.expiresOn?.getTime() ?? started;
        const renewAt = renewalPoint(started / 1000, expiresOn / 1000, this.cfg.renewWindow);
        return this.remember(APP, key, { accessToken: result.accessToken, expiresOn, renewAt }, 'app');
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

  /** MSAL's error in the proxy's terms; a refusal of the client itself is reported as configuration. */
  private translate(err: unknown): Error {
    const e = translateMsalError(err);
    if (e instanceof ProviderConfigError) this.provider.misconfigured(e);
    return e;
  }

  private remember(id: string, key: string, t: FreshToken, source: AcquiredToken['source']): AcquiredToken {
    // App tokens are no user's: the l1Ttl bound (sign-out seen by other replicas) does not apply.
    const until = id === APP ? t.renewAt : Math.min(t.renewAt, Date.now() + this.cfg.l1Ttl * 1000);
    if (until > Date.now()) {
      let entries = this.l1.get(id);
      if (!entries) {
        entries = new Map();
        this.l1.set(id, entries);
      }
      entries.set(key, { token: t.accessToken, expiresOn: t.expiresOn, until });
    }
    return { accessToken: t.accessToken, expiresOn: t.expiresOn, source };
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

/** Whether the partition holds a fresh token for the scopes (default renewal window; benchmarks use it). */
export function hasFreshToken(json: string, homeAccountId: string, scopes: readonly string[]): boolean {
  return freshToken(json, homeAccountId, scopes, undefined, 0.1) !== undefined;
}
