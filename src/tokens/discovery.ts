// The provider's discovery document: where it is, fetching and checking it, and retrying at start.
//
// A provider that is down at start leaves the replica unready, not crashing; every failure names the URL.
import type { Logger } from 'pino';
import type { IdentityConfig } from '../config/schema.js';
import type { Readiness } from '../health/readiness.js';
import type { ProviderHttp } from './network.js';

export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  end_session_endpoint?: string;
  [key: string]: unknown;
}

/** The authority MSAL is given and where its discovery document lives. */
export function authorityOf(id: IdentityConfig): { authority: string; discoveryUrl: string } {
  if (id.protocol === 'oidc') {
    const authority = (id.authority as string).replace(/\/+$/, '');
    return { authority, discoveryUrl: `${authority}/.well-known/openid-configuration` };
  }
  const authority = id.authority
    ? id.authority.replace(/\/*$/, '/')
    : `${id.instance.replace(/\/*$/, '/')}${id.tenantId}/`;
  return { authority, discoveryUrl: `${authority}v2.0/.well-known/openid-configuration` };
}

class DiscoveryError extends Error {
  constructor(url: string, cause: unknown) {
    const reason = describeCause(cause);
    super(`cannot load the provider's discovery document ${url}: ${reason}`, { cause });
    this.name = 'DiscoveryError';
  }
}

export function describeCause(err: unknown): string {
  const e = err as {
    cause?: { code?: string; message?: string };
    code?: string;
    message?: string;
    name?: string;
  };
  if (e?.name === 'TimeoutError') return 'timed out';
  const inner = e?.cause ?? e;
  return [inner?.code, inner?.message].filter(Boolean).join(' ') || String(err);
}

/**
 * The discovery document, checked: the endpoints authward needs are there, and for a generic OpenID
 * provider (`oidcAuthority`) its issuer is the configured authority.
 */
export async function fetchDiscovery(
  http: ProviderHttp,
  url: string,
  oidcAuthority: string | undefined,
): Promise<Discovery> {
  let doc: Discovery;
  try {
    const res = await http.fetch(url, { headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = (await res.json()) as Discovery;
  } catch (err) {
    throw new DiscoveryError(url, err);
  }
  for (const field of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'] as const) {
    if (typeof doc[field] !== 'string') {
      throw new DiscoveryError(url, new Error(`the document has no ${field}`));
    }
  }
  if (oidcAuthority !== undefined && doc.issuer.replace(/\/+$/, '') !== oidcAuthority) {
    throw new DiscoveryError(
      url,
      new Error(
        `its issuer ${doc.issuer} differs from identity.authority ${oidcAuthority} (they must be equal)`,
      ),
    );
  }
  return doc;
}

export function discoverWithRetry(
  provider: { discover(): Promise<Discovery> },
  readiness: Readiness,
  logger: Logger,
  onReady: (doc: Discovery) => void,
): () => void {
  const done = readiness.require('provider discovery');
  let delay = 1000;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async () => {
    try {
      const doc = await provider.discover();
      if (stopped) return;
      onReady(doc);
      readiness.setDependency('provider', 'up');
      done();
      logger.info({ event: 'discovery', issuer: doc.issuer }, 'provider discovery loaded');
    } catch (err) {
      if (stopped) return;
      readiness.setDependency('provider', 'down', (err as Error).message);
      // Jittered: replicas that all started against a provider that was down do not retry in lockstep.
      const wait = Math.round(delay * (0.5 + Math.random() / 2));
      logger.error({ event: 'discovery_failed' }, `${(err as Error).message}; retrying in ${wait / 1000} s`);
      timer = setTimeout(attempt, wait);
      timer.unref();
      delay = Math.min(delay * 2, 30_000);
    }
  };
  void attempt();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
