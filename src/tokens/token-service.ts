// Tokens per account: code redemption, silent acquisition (L1 → store → one refresh), app tokens, purge.
//
// Rules enforced (the L1 and single-flight in l1.ts, MSAL's cache format and freshness in
// partition.ts, storage, sealing and the cross-replica lock in partition-store.ts):
// - one MSAL client per call, bound to exactly one account's partition: the cross-user hazard of a
//   shared client (deserialize keeps the previous user's entries) cannot happen by construction;
// - a fresh token in the L1 costs no store round trip; a fresh one in the partition is served
//   without MSAL (the window is tokenCache.renewWindow); MSAL is called only to refresh;
// - after each MSAL call the partition's new entries belong to its account (adoptOrphans), so
//   rotating refresh tokens keep working when refresh responses carry no id_token;
// - no empty or malformed access token is ever returned (the provider's answer is checked);
// - a refresh happens once: single-flight per account+scopes in-process, the account's store lock
//   across replicas (nobody refreshes without it);
// - a dead grant (invalid_grant, interaction required) deletes the partition (a DEL, no empty shell).
import type { AccountInfo, AuthenticationResult } from '@azure/msal-node';
import type { Logger } from 'pino';
import type { TokenCacheConfig } from '../config/schema.js';
import { ProviderConfigError, ProviderUnavailableError } from '../errors.js';
import type { Sealer } from '../token-cache/crypto.js';
import type { AccountRef, Store } from '../token-cache/store.js';
import { InteractionRequired, translateMsalError } from './errors.js';
import { L1, SingleFlight } from './l1.js';
import {
  adoptOrphans,
  type CachedSecrets,
  cachedSecrets,
  type FreshToken,
  freshToken,
  partitionPlugin,
  renewalPoint,
  wellFormedToken,
} from './partition.js';
import { PartitionStore } from './partition-store.js';
import type { AcquiredToken, TokenRequest } from './token-request.js';

export { type AcquiredToken, scopesKey } from './token-request.js';

import type { Provider } from './provider.js';

const LOCK_MS = 15_000; // at least; longer when the provider timeout is
const APP = '\u0000app';

export class TokenService {
  readonly metrics = {
    l1Hits: 0,
    storeHits: 0,
    misses: 0,
    refreshes: 0,
    refreshFailures: 0,
    lockWaits: 0,
  };
  private readonly l1: L1;
  private readonly flights = new SingleFlight<AcquiredToken>();
  private readonly partitions: PartitionStore;
  private readonly appClients = new Map<string, ReturnType<Provider['client']>>();

  constructor(
    private readonly provider: Provider,
    store: Store,
    sealer: Sealer | null,
    private readonly cfg: TokenCacheConfig,
    private readonly logger: Logger,
  ) {
    this.l1 = new L1(cfg.l1MaxEntries, cfg.l1Ttl * 1000);
    this.partitions = new PartitionStore(store, sealer, cfg.ttl, logger, this.metrics);
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
    const cca = this.provider.client(partitionPlugin(undefined, (json) => (serialized = json)));
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
    this.l1.forget(result.account.homeAccountId);
    await this.partitions.save(result.account.homeAccountId, serialized);
    return result as AuthenticationResult & { account: AccountInfo };
  }

  // ---------------------------------------------------------------- silent acquisition

  /** The access token if fresh in the in-process L1 (counted as an L1 hit), else undefined. */
  peek(account: AccountRef, key: string): string | undefined {
    const hit = this.l1.get(account.homeAccountId, key);
    if (!hit) return undefined;
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
    const hit = claims ? undefined : this.fromL1(account.homeAccountId, key);
    if (hit) return hit;
    return this.flights.run(`${account.homeAccountId}\n${key}\n${claims ?? ''}`, () =>
      this.fromStore(account, { scopes, key, claims, resource }),
    );
  }

  /** A refresh now, whatever is cached (App Service's /.auth/refresh); InteractionRequired when the grant is gone. */
  renew(account: AccountRef, scopes: readonly string[], key: string): Promise<AcquiredToken> {
    return this.flights.run(`${account.homeAccountId}\n${key}\n\u0000renew`, () =>
      this.fromStore(account, { scopes, key, force: true }),
    );
  }

  /** The account's cached ID and refresh tokens (App Service's token headers); none when no partition. */
  async accountTokens(homeAccountId: string): Promise<CachedSecrets> {
    try {
      return cachedSecrets(await this.partitions.load(homeAccountId), homeAccountId);
    } catch (err) {
      if (err instanceof InteractionRequired) return {};
      throw err;
    }
  }

  private fromL1(id: string, key: string): Promise<AcquiredToken> | undefined {
    const hit = this.l1.get(id, key);
    if (!hit) return undefined;
    this.metrics.l1Hits++;
    return Promise.resolve({ accessToken: hit.token, expiresOn: hit.expiresOn, source: 'l1' });
  }

  private async fromStore(account: AccountRef, req: TokenRequest): Promise<AcquiredToken> {
    const id = account.homeAccountId;
    // The lock must outlive the refresh it guards (one provider call), or a second replica would
    // refresh with the same refresh token while the first is still waiting for its answer.
    const lockMs = Math.max(LOCK_MS, (this.provider.config.timeout + 5) * 1000);
    return this.partitions.underLock(
      id,
      lockMs,
      (json) => this.fromPartition(json, id, req),
      async (json) => {
        try {
          return await this.refresh(account, req, json);
        } catch (err) {
          // A failed attempt counts as a grant sent (the usual causes are the provider's answers).
          this.metrics.refreshes++;
          this.metrics.refreshFailures++;
          throw err;
        }
      },
    );
  }

  /** A fresh token in the partition's JSON (none when claims force a refresh), counted as a store hit. */
  private fromPartition(json: string, id: string, req: TokenRequest): AcquiredToken | undefined {
    if (req.claims || req.force) return undefined;
    const hit = freshToken(json, id, req.scopes, req.resource, this.cfg.renewWindow);
    if (!hit) return undefined;
    this.metrics.storeHits++;
    return this.remember(id, req.key, hit, 'store');
  }

  /** One provider call (refresh token grant) under the account's lock; the partition is rewritten. */
  private async refresh(account: AccountRef, req: TokenRequest, json: string): Promise<AcquiredToken> {
    const { scopes, key, claims, resource } = req;
    const started = Date.now();
    let changed: string | undefined;
    const cca = this.provider.client(partitionPlugin(json, (next) => (changed = next)));
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
    this.checkWellFormed(result.accessToken, 'access token'); // else the partition keeps its state
    if (changed)
      await this.partitions.save(account.homeAccountId, adoptOrphans(changed, account.homeAccountId));
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
    return (
      this.fromL1(APP, key) ??
      this.flights.run(`${APP}\n${key}`, () => this.fetchAppToken(scopes, key, resource))
    );
  }

  private async fetchAppToken(scopes: readonly string[], key: string, resource?: string) {
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
    this.checkWellFormed(result.accessToken, 'app token');
    const expiresOn = result.expiresOn?.getTime() ?? started;
    const renewAt = renewalPoint(started / 1000, expiresOn / 1000, this.cfg.renewWindow);
    return this.remember(APP, key, { accessToken: result.accessToken, expiresOn, renewAt }, 'app');
  }

  // ---------------------------------------------------------------- purge

  /** Sign-out or dead grant: the partition is deleted and this replica's L1 forgets the account. */
  async removeAccount(homeAccountId: string): Promise<void> {
    this.l1.forget(homeAccountId);
    await this.partitions.remove(homeAccountId);
  }

  // ---------------------------------------------------------------- helpers

  /** MSAL's error in the proxy's terms; a refusal of the client itself is reported as configuration. */
  private translate(err: unknown): Error {
    const e = translateMsalError(err);
    if (e instanceof ProviderConfigError) this.provider.misconfigured(e);
    return e;
  }

  /** A provider answer that is no usable bearer token: never injected, never cached (503, session kept). */
  private checkWellFormed(token: unknown, what: string): void {
    if (wellFormedToken(token)) return;
    this.logger.warn({ event: 'malformed_token' }, `the provider returned an empty or malformed ${what}`);
    const cause = new Error('the provider returned an empty or malformed access token');
    throw new ProviderUnavailableError({ cause });
  }

  private remember(id: string, key: string, t: FreshToken, source: AcquiredToken['source']): AcquiredToken {
    // App tokens are no user's: the l1Ttl bound (sign-out seen by other replicas) does not apply.
    this.l1.put(id, key, t, id !== APP);
    return { accessToken: t.accessToken, expiresOn: t.expiresOn, source };
  }
}
