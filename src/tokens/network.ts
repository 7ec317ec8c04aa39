// Outbound HTTP to the identity provider: one keep-alive agent, the configured CA, HTTPS_PROXY/NO_PROXY, a timeout.
//
// MSAL's own client neither trusts a private CA (short of NODE_EXTRA_CA_CERTS at process start) nor
// reuses connections, so it gets this one as `system.networkClient`; discovery and JWKS use it too.
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { Agent, type Dispatcher, EnvHttpProxyAgent, fetch } from 'undici';

export interface ProviderHttp {
  fetch(
    url: string,
    init?: { method?: string; headers?: Record<string, string>; body?: string },
  ): Promise<Response>;
  networkClient: INetworkModule;
  close(): Promise<void>;
}

export function createProviderHttp(opts: {
  caFile?: string | undefined;
  timeoutSeconds: number;
}): ProviderHttp {
  const ca = opts.caFile ? [...rootCertificates, readFileSync(opts.caFile, 'utf8')] : undefined;
  const tls = ca ? { ca } : {};
  const env = process.env;
  const proxied = Boolean(env.HTTPS_PROXY || env.https_proxy || env.HTTP_PROXY || env.http_proxy);
  const dispatcher: Dispatcher = proxied
    ? new EnvHttpProxyAgent({ connect: tls, requestTls: tls })
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
      body = { error: 'invalid_response', error_description: `non-JSON response (HTTP ${res.status})` };
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
