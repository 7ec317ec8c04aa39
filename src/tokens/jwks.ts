// The provider's signing keys: cached, refetched at once when a token names a key we have not seen.
//
// Enforced: an unknown `kid` triggers a refetch right away, not after a cooldown, so a provider that
// rotates its keys never has a sign-in refused; refetches are rate-limited (at most one per
// MIN_REFETCH_MS, everyone waiting shares it), so tokens with made-up key ids cannot make us hammer
// the provider; a caller only trusts a refetch that started after its own miss.
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createRemoteJWKSet,
  customFetch,
  errors,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
} from 'jose';
import type { Logger } from 'pino';
import type { ProviderHttp } from './network.js';

export const MIN_REFETCH_MS = 250; // a few per second at most
const MAX_AGE_MS = 3_600_000; // keys are refetched hourly anyway

type KeyLookup = (
  header: JWSHeaderParameters,
  token: FlattenedJWSInput,
) => ReturnType<ReturnType<typeof createRemoteJWKSet>>;

export function providerKeys(jwksUri: string, http: ProviderHttp, logger?: Logger): KeyLookup {
  const remote = createRemoteJWKSet(new URL(jwksUri), {
    // jose's own refetch on an unknown kid waits out a cooldown (30 s by default): switched off here
    // (cooldown = max age) and done below without one.
    cooldownDuration: MAX_AGE_MS,
    cacheMaxAge: MAX_AGE_MS,
    [customFetch]: (url: string, init: RequestInit) =>
      http.fetch(url, { method: init.method ?? 'GET', headers: init.headers as Record<string, string> }),
  });
  let lastStart = 0;
  let inflight: Promise<void> | undefined;
  let queued: Promise<void> | undefined;

  /** Resolves once a fetch that started after this call has completed. */
  const refetch = (): Promise<void> => {
    queued ??= (async () => {
      await inflight?.catch(() => undefined);
      const wait = lastStart + MIN_REFETCH_MS - Date.now();
      if (wait > 0) await sleep(wait);
      queued = undefined; // from here on, a new miss needs a fetch after this one
      lastStart = Date.now();
      const run = remote.reload();
      inflight = run;
      try {
        await run;
      } finally {
        if (inflight === run) inflight = undefined;
      }
    })();
    return queued;
  };

  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
    }
    const kid = describeKid(header.kid);
    logger?.info(
      { event: 'jwks_refetch', kid },
      `ID token signed by an unknown key ${kid}: refetching the provider's keys`,
    );
    await refetch();
    return remote(header, token);
  };
}

/** A key id as it may be logged: short, printable. */
export const describeKid = (kid: unknown) =>
  typeof kid === 'string'
    ? `kid ${JSON.stringify(kid.slice(0, 64).replace(/[^\x20-\x7e]/g, '?'))}`
    : '(no kid)';
