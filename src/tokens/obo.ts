// Tokens for a route acquired on behalf of an API client's user: Entra's on-behalf-of (aad, through
// MSAL) or RFC 8693 token exchange (oidc, when discovery advertises it).
//
// Rules enforced:
// - a result is cached under hash(incoming token) + the route's scopes key: never shared between two
//   incoming tokens (so never between users), never past its own expiry (store TTL and L1 entry end
//   tokenCache.renewWindow before it), sealed at rest when tokenCache.encryptionKeys are set;
// - a repeat costs no provider round trip: the L1 (synchronous peek), then the store (another replica's
//   result), then one provider call per incoming token + scopes at a time (single-flight);
// - a fresh MSAL client per call (MSAL's own cache is not shared between callers);
// - a claims challenge or interaction_required from the provider is InsufficientClaims (the caller gets
//   the claims to satisfy), never a 500; a provider without token exchange is OnBehalfOfUnavailable.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { TokenCacheConfig } from '../config/schema.js';
import { OnBehalfOfUnavailableError, ProviderUnavailableError } from '../errors.js';
import { openFrom, type Sealer, sealFor } from '../token-cache/crypto.js';
import type { Store } from '../token-cache/store.js';
import { translateMsalError } from './errors.js';
import { SingleFlight } from './l1.js';
import { wellFormedToken } from './partition.js';
import type { Provider } from './provider.js';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** The provider wants more claims (Conditional Access, consent): the API client must get a new token. */
export class InsufficientClaims extends Error {
  constructor(
    /** The claims request JSON to hand back (base64 in WWW-Authenticate), or '' when none was given. */
    readonly claims: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`on-behalf-of refused: ${reason}`, options);
    this.name = 'InsufficientClaims';
  }
}

export interface OboToken {
  accessToken: string;
  /** Epoch ms. */
  expiresOn: number;
  source: 'l1' | 'store' | 'provider';
}

interface Entry {
  token: string;
  expiresOn: number;
  /** Epoch ms: when it stops being served (renewWindow before expiry). */
  until: number;
}

/** Whether this provider can exchange tokens at all (aad: always; oidc: discovery says so). */
export const canExchange = (provider: Provider) => {
  const listed = provider.discovery?.grant_types_supported;
  return provider.config.protocol === 'aad' || (Array.isArray(listed) && listed.includes(TOKEN_EXCHANGE));
};

export class OnBehalfOf {
  readonly metrics = { l1Hits: 0, storeHits: 0, exchanges: 0, failures: 0 };
  private readonly l1: LRUCache<string, Entry>;
  private readonly flights = new SingleFlight<OboToken>();

  constructor(
    private readonly provider: Provider,
    private readonly store: Store,
    private readonly sealer: Sealer | null,
    private readonly cfg: TokenCacheConfig,
    private readonly logger: Logger,
  ) {
    this.l1 = new LRUCache({ max: cfg.l1MaxEntries });
  }

  /**
   * Said once discovery has answered: routes (and upstream.tokens) that need on-behalf-of on a provider
   * without token exchange. Their API-client requests then answer 502 naming the cause (browsers are
   * unaffected).
   */
  providerProblem(
    routes: readonly { name: string; token: string }[],
    upstreamTokens: readonly string[] = [],
  ): string | undefined {
    const names = routes.filter((r) => r.token === 'user').map((r) => r.name);
    const needs = [
      ...(names.length > 0 ? [`routes ${names.join(', ')}`] : []),
      ...(upstreamTokens.length > 0 ? ['upstream.tokens (the default upstream)'] : []),
    ];
    if (needs.length === 0 || canExchange(this.provider)) return undefined;
    return `apiClients: ${needs.join(' and ')} need on-behalf-of for API clients, but the provider's discovery does not list ${TOKEN_EXCHANGE} in grant_types_supported: API clients calling them get 502`;
  }

  /** A fresh cached token for this incoming token and scopes key, without a promise. */
  peek(tokenHash: string, key: string): string | undefined {
    const hit = this.l1.get(`${tokenHash}\n${key}`);
    if (!hit || hit.until <= Date.now()) return undefined;
    this.metrics.l1Hits++;
    return hit.token;
  }

  /** The expiry (epoch ms) of the fresh cached token peek() serves, without counting a hit. */
  expiresOn(tokenHash: string, key: string): number | undefined {
    const hit = this.l1.get(`${tokenHash}\n${key}`);
    return hit && hit.until > Date.now() ? hit.expiresOn : undefined;
  }

  acquire(
    assertion: string,
    tokenHash: string,
    scopes: readonly string[],
    key: string,
    resource?: string,
  ): Promise<OboToken> {
    const l1Key = `${tokenHash}\n${key}`;
    const hit = this.peek(tokenHash, key);
    if (hit)
      return Promise.resolve({
        accessToken: hit,
        expiresOn: this.l1.get(l1Key)?.expiresOn ?? 0,
        source: 'l1',
      });
    return this.flights.run(l1Key, async () => {
      // The store key names neither the user nor the token: a hash of both parts.
      const storeKey = `obo:${createHash('sha256').update(l1Key).digest('hex')}`;
      const stored = await this.fromStore(storeKey);
      if (stored) {
        this.metrics.storeHits++;
        this.l1.set(l1Key, stored);
        return { accessToken: stored.token, expiresOn: stored.expiresOn, source: 'store' };
      }
      const fresh = await this.exchange(assertion, scopes, resource);
      const until = fresh.expiresOn - this.cfg.renewWindow * 1000;
      const entry = { token: fresh.accessToken, expiresOn: fresh.expiresOn, until };
      const ttl = Math.floor((until - Date.now()) / 1000);
      if (ttl > 0) {
        this.l1.set(l1Key, entry);
        const plain = Buffer.from(JSON.stringify(entry), 'utf8');
        await this.store.set(storeKey, sealFor(this.sealer, plain, storeKey), ttl);
      }
      return { ...fresh, source: 'provider' };
    });
  }

  private async fromStore(storeKey: string): Promise<Entry | undefined> {
    const blob = await this.store.get(storeKey);
    const plain = blob && openFrom(this.sealer, blob, storeKey);
    if (!plain) return undefined;
    const entry = JSON.parse(plain.toString('utf8')) as Entry;
    return entry.until > Date.now() ? entry : undefined;
  }

  /** One provider call: MSAL's on-behalf-of (aad) or an RFC 8693 token exchange (oidc). */
  private async exchange(assertion: string, scopes: readonly string[], resource?: string) {
    this.metrics.exchanges++;
    const started = Date.now();
    try {
      const result =
        this.provider.config.protocol === 'aad'
          ? await this.onBehalfOf(assertion, scopes, resource)
          : await this.tokenExchange(assertion, scopes, resource, started);
      if (!wellFormedToken(result.accessToken)) {
        throw new ProviderUnavailableError({ cause: new Error('the provider returned a malformed token') });
      }
      return result;
    } catch (err) {
      this.metrics.failures++;
      throw err;
    }
  }

  private async onBehalfOf(assertion: string, scopes: readonly string[], resource?: string) {
    const cca = this.provider.client(undefined, resource ? { resource } : undefined);
    try {
      const r = await cca.acquireTokenOnBehalfOf({
        oboAssertion: assertion,
        scopes: [...scopes],
        skipCache: true,
      });
      if (!r) throw new ProviderUnavailableError();
      return { accessToken: r.accessToken, expiresOn: r.expiresOn?.getTime() ?? Date.now() };
    } catch (err) {
      const claims = (err as { claims?: string }).claims;
      const code = String((err as { errorCode?: string }).errorCode ?? '');
      if (claims || code === 'interaction_required' || code === 'consent_required') {
        throw new InsufficientClaims(claims ?? '', code || 'interaction_required', { cause: err });
      }
      const e = translateMsalError(err);
      if (e.name === 'InteractionRequired') throw new InsufficientClaims('', code, { cause: err });
      throw e;
    }
  }

  private async tokenExchange(
    assertion: string,
    scopes: readonly string[],
    resource: string | undefined,
    started: number,
  ) {
    const d = this.provider.discovery;
    if (!d || !canExchange(this.provider)) throw new OnBehalfOfUnavailableError();
    const id = this.provider.config;
    const form = new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      subject_token: assertion,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      scope: scopes.join(' '),
    });
    if (resource) form.set('resource', resource);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const secret = id.clientSecret ?? '';
    if (this.provider.clientAuthMethod === 'client_secret_basic') {
      const enc = (v: string) => encodeURIComponent(v);
      headers.authorization = `Basic ${Buffer.from(`${enc(id.clientId)}:${enc(secret)}`).toString('base64')}`;
    } else {
      form.set('client_id', id.clientId);
      form.set('client_secret', secret);
    }
    let res: Response;
    try {
      res = await this.provider.http.fetch(d.token_endpoint, {
        method: 'POST',
        headers,
        body: form.toString(),
      });
    } catch (err) {
      throw new ProviderUnavailableError({ cause: err });
    }
    const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (res.ok && typeof body.access_token === 'string') {
      const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 0);
      return { accessToken: body.access_token, expiresOn: started + expiresIn * 1000 };
    }
    const error = String(body.error ?? `status ${res.status}`);
    this.logger.info({ event: 'token_exchange_refused', error }, 'the provider refused the token exchange');
    if (typeof body.claims === 'string' || error === 'interaction_required' || error === 'invalid_grant') {
      throw new InsufficientClaims(typeof body.claims === 'string' ? body.claims : '', error);
    }
    if (res.status >= 500) throw new ProviderUnavailableError();
    throw new InsufficientClaims('', error);
  }
}
