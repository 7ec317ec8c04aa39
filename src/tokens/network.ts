// Outbound HTTP to the identity provider: one keep-alive agent, the configured CA, an outbound proxy, a timeout.
//
// MSAL's own client neither trusts a private CA (short of NODE_EXTRA_CA_CERTS at process start) nor
// reuses connections, so it gets this one as `system.networkClient`; discovery and JWKS use it too.
// The proxy is an input (read from the environment where the app is built), not looked up here.

import { createSecureContext } from 'node:tls';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { Agent, type Dispatcher, EnvHttpProxyAgent, fetch } from 'undici';
import { trustedCas } from '../ca.js';

export interface ProviderHttp {
  fetch(
    url: string,
    init?: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<Response>;
  networkClient: INetworkModule;
  close(): Promise<void>;
}

/** Where the provider's traffic goes through: proxy URLs ('' for none) and the NO_PROXY list. */
export interface OutboundProxy {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
}

/**
 * HTTP_PROXY, HTTPS_PROXY and NO_PROXY of an environment (lowercase first, as undici and curl read
 * them); undefined when it names no proxy. Every field is set, so undici looks up nothing itself.
 */
export function outboundProxy(env: Record<string, string | undefined>): OutboundProxy | undefined {
  if (!(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy)) return undefined;
  return {
    httpProxy: env.http_proxy ?? env.HTTP_PROXY ?? '',
    httpsProxy: env.https_proxy ?? env.HTTPS_PROXY ?? '',
    noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
  };
}

export function createProviderHttp(opts: {
  caFile?: string | undefined;
  timeoutSeconds: number;
  proxy?: OutboundProxy | undefined;
}): ProviderHttp {
  const ca = trustedCas(opts.caFile);
  // One secure context for every connection: given `ca`, each new TLS connection would parse the
  // whole list (the system's ~140 roots and the caFile) again, 1.5 ms of CPU (issue 18's sign-in profile).
  const tls = ca ? { secureContext: createSecureContext({ ca }) } : {};
  const dispatcher: Dispatcher = opts.proxy
    ? new EnvHttpProxyAgent({ ...opts.proxy, connect: tls, requestTls: tls })
    : new Agent({ connect: tls, keepAliveTimeout: 30_000 });
  const timeoutMs = opts.timeoutSeconds * 1000;

  const doFetch: ProviderHttp['fetch'] = async (url, init = {}) =>
    (await fetch(url, {
      ...init,
      dispatcher,
      signal: AbortSignal.timeout(timeoutMs),
    })) as unknown as Response;

  // MSAL wants parsed JSON bodies, error responses included.
  async function send<T>(
    method: string,
    url: string,
    options?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> {
    const res = await doFetch(url, {
      method,
      ...(options?.headers ? { headers: options.headers } : {}),
      ...(options?.body !== undefined ? { body: options.body } : {}),
    });
    const text = await res.text();
    let body: unknown = {};
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      if (res.status < 400) {
        body = { error: 'invalid_response', error_description: `non-JSON response (HTTP ${res.status})` };
      }
    }
    // MSAL decides success by the body alone: a refusal without an OAuth `error` (an empty 400, a
    // gateway's HTML page) would otherwise resolve with an empty access token. 400/401 from a token
    // endpoint mean the grant or request was refused (the user signs in again); anything else is an outage.
    if (res.status >= 400 && typeof (body as { error?: unknown } | null)?.error !== 'string') {
      body = {
        error: res.status === 400 || res.status === 401 ? 'invalid_grant' : 'server_error',
        error_description: `HTTP ${res.status} without an OAuth error body`,
      };
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    return { headers, body: body as T, status: res.status };
  }

  return {
    fetch: doFetch,
    networkClient: {
      sendGetRequestAsync: (url, options) => send('GET', url, options),
      sendPostRequestAsync: (url, options) => send('POST', url, options),
    },
    close: () => dispatcher.close(),
  };
}

/** x-www-form-urlencoded, as RFC 6749 2.3.1 wants client_id and secret encoded inside Basic credentials. */
const formEncode = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');

/**
 * MSAL's network client, adapted at the token endpoint: client_secret_basic (MSAL only posts the
 * secret in the body) and extra body parameters MSAL has no field for (`resource` on client credentials).
 */
export function tokenEndpointClient(
  inner: INetworkModule,
  opts: { basic?: { clientId: string; clientSecret: string }; bodyParams?: Record<string, string> },
): INetworkModule {
  const basic = opts.basic
    ? `Basic ${Buffer.from(`${formEncode(opts.basic.clientId)}:${formEncode(opts.basic.clientSecret)}`).toString('base64')}`
    : undefined;
  const extra = Object.entries(opts.bodyParams ?? {});
  return {
    sendGetRequestAsync: (url, options) => inner.sendGetRequestAsync(url, options),
    sendPostRequestAsync: (url, options) => {
      // MSAL's only POSTs are token requests (a form with grant_type).
      const form = typeof options?.body === 'string' ? new URLSearchParams(options.body) : undefined;
      if (!form?.has('grant_type')) return inner.sendPostRequestAsync(url, options);
      const useBasic = basic !== undefined && form.has('client_secret');
      if (useBasic) form.delete('client_secret');
      for (const [k, v] of extra) if (!form.has(k)) form.set(k, v);
      const headers = { ...options?.headers, ...(useBasic ? { Authorization: basic } : {}) };
      return inner.sendPostRequestAsync(url, { ...options, headers, body: form.toString() });
    },
  };
}
