// The identity provider as authward sees it: its discovery (once), the MSAL client factory, the sign-in URL.
import {
  ConfidentialClientApplication,
  type ICachePlugin,
  type INetworkModule,
  LogLevel,
  ProtocolMode,
  ResponseMode,
} from '@azure/msal-node';
import type { Logger } from 'pino';
import type { IdentityConfig } from '../config/schema.js';
import { type Credentials, loadCredentials, secretMethod } from './credentials.js';
import { authorityOf, type Discovery, fetchDiscovery } from './discovery.js';
import { createProviderHttp, type OutboundProxy, type ProviderHttp, tokenEndpointClient } from './network.js';

export class Provider {
  readonly http: ProviderHttp;
  readonly authority: string;
  readonly discoveryUrl: string;
  discovery: Discovery | undefined;
  /** How a client secret is sent, decided once from config and discovery. */
  clientAuthMethod: 'client_secret_post' | 'client_secret_basic' | undefined;
  private metadataJson = '';
  private networkClient: INetworkModule;
  private readonly refusals = new Set<string>();
  private readonly misconfiguredListeners: ((reason: string) => void)[] = [];
  private routeResources: { scopes: string[]; resource: string }[] = [];
  private readonly credentials: Credentials;

  /** `proxy`: the outbound proxy for the provider's traffic (from the environment, read where the app is built). */
  constructor(
    readonly config: IdentityConfig,
    private readonly logger: Logger,
    proxy?: OutboundProxy,
  ) {
    this.http = createProviderHttp({ caFile: config.caFile, timeoutSeconds: config.timeout, proxy });
    ({ authority: this.authority, discoveryUrl: this.discoveryUrl } = authorityOf(config));
    this.credentials = loadCredentials(config);
    this.networkClient = this.http.networkClient;
  }

  /**
   * Routes with an RFC 8707 resource: a sign-in that consents to a route's scopes also names its
   * resource, since providers accept on a token request only resources named at authorization (2.1).
   */
  setRouteResources(routes: readonly { scopes: readonly string[]; resource?: string | undefined }[]): void {
    this.routeResources = routes.flatMap((r) =>
      r.resource ? [{ scopes: r.scopes.map((s) => s.toLowerCase()), resource: r.resource }] : [],
    );
  }

  /** Called once per distinct refusal of the client by the provider (invalid_client, ...). */
  onMisconfigured(listener: (reason: string) => void): void {
    this.misconfiguredListeners.push(listener);
  }

  /** The provider refused this application: a configuration error, logged once per cause. */
  misconfigured(err: Error): void {
    const cause = err.cause as { errorCode?: string; errorMessage?: string } | undefined;
    const code = cause?.errorCode ?? 'invalid_client';
    if (this.refusals.has(code)) return;
    this.refusals.add(code);
    const description = String(cause?.errorMessage ?? '')
      .split('\n')[0]
      ?.slice(0, 200);
    const reason = `the identity provider refused this application (${code}${description ? `: ${description}` : ''}); check identity.clientId, its credential and identity.clientAuthMethod (${this.clientAuthMethod ?? 'certificate/assertion'} used)`;
    this.logger.error({ event: 'provider_config', code }, reason);
    for (const listener of this.misconfiguredListeners) listener(reason);
  }
  get ready(): boolean {
    return this.discovery !== undefined;
  }

  /** Fetches discovery once; MSAL gets it as authorityMetadata so no request pays a discovery round trip. */
  async discover(): Promise<Discovery> {
    const oidc = this.config.protocol === 'oidc' ? this.authority : undefined;
    const doc = await fetchDiscovery(this.http, this.discoveryUrl, oidc);
    this.discovery = doc;
    this.metadataJson = JSON.stringify(doc);
    this.clientAuthMethod = this.credentials.clientSecret ? secretMethod(this.config, doc) : undefined;
    const listed = doc.token_endpoint_auth_methods_supported;
    if (this.clientAuthMethod && Array.isArray(listed) && !listed.includes(this.clientAuthMethod)) {
      this.logger.warn(
        { event: 'config' },
        `identity.clientAuthMethod ${this.clientAuthMethod} is not in the provider's token_endpoint_auth_methods_supported (${listed.join(', ')})`,
      );
    }
    if (this.clientAuthMethod === 'client_secret_basic') {
      this.networkClient = tokenEndpointClient(this.http.networkClient, {
        basic: { clientId: this.config.clientId, clientSecret: this.credentials.clientSecret as string },
      });
    }
    return doc;
  }

  /**
   * A fresh MSAL client. One per call and per account: a shared one leaks tokens across users.
   * `bodyParams` go on its token requests where MSAL has no field for them (`resource` on app tokens).
   */
  client(cachePlugin?: ICachePlugin, bodyParams?: Record<string, string>): ConfidentialClientApplication {
    if (!this.discovery) throw new Error('provider discovery has not completed');
    return new ConfidentialClientApplication({
      auth: {
        clientId: this.config.clientId,
        authority: this.authority,
        knownAuthorities: [new URL(this.authority).host],
        authorityMetadata: this.metadataJson,
        clientCapabilities: [...this.config.clientCapabilities],
        ...this.credentials,
      },
      ...(cachePlugin ? { cache: { cachePlugin } } : {}),
      system: {
        networkClient: bodyParams
          ? tokenEndpointClient(this.networkClient, { bodyParams })
          : this.networkClient,
        protocolMode: this.config.protocol === 'oidc' ? ProtocolMode.OIDC : ProtocolMode.AAD,
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: LogLevel.Warning,
          loggerCallback: (level, message) => {
            // Generic OpenID providers never send Entra's client_info: that warning is noise there.
            if (this.config.protocol === 'oidc' && message.includes('No client info')) return;
            if (level <= LogLevel.Warning) this.logger.warn({ event: 'msal' }, message);
          },
        },
      },
    });
  }

  /** The provider's authorization URL for one login transaction (PKCE S256, query response mode). */
  async authCodeUrl(p: {
    scopes: string[];
    extraScopes: string[];
    redirectUri: string;
    state: string;
    nonce: string;
    codeChallenge: string;
    claims?: string | undefined;
  }): Promise<string> {
    const url = await this.client().getAuthCodeUrl({
      scopes: p.scopes,
      extraScopesToConsent: p.extraScopes,
      redirectUri: p.redirectUri,
      state: p.state,
      nonce: p.nonce,
      codeChallenge: p.codeChallenge,
      codeChallengeMethod: 'S256',
      responseMode: ResponseMode.QUERY,
      ...(p.claims ? { claims: p.claims } : {}),
    });
    // MSAL takes one `resource`; RFC 8707 allows several, one parameter each.
    const asked = new Set([...p.scopes, ...p.extraScopes].map((s) => s.toLowerCase()));
    const resources = new Set(
      this.routeResources.filter((r) => r.scopes.every((s) => asked.has(s))).map((r) => r.resource),
    );
    let extra = '';
    for (const resource of resources) extra += `&resource=${encodeURIComponent(resource)}`;
    return url + extra;
  }

  close(): Promise<void> {
    return this.http.close();
  }
}
