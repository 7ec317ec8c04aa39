// API-client tests' parts: a test IdP with the app's own API (api://authward-test) and the OBO/exchange
// grants, an echo upstream, authward with apiClients on, captured log lines, and tokens got with MSAL.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import {
  ConfidentialClientApplication,
  CryptoProvider,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
} from '@azure/msal-node';
import pino from 'pino';
import { type ApiGrants, type ApiGrantsOptions, apiGrants } from '../../lab/idp-grants.js';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import { loggerOptions } from '../../src/logger.js';
import type { Store } from '../../src/token-cache/store.js';
import { Browser, signIn } from '../helpers/browser.js';
import { type IdpMode, startIdp, type TestIdp } from '../helpers/idp.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { startApp, type TestApp, waitReady } from '../helpers/world.js';

export const OWN_API = 'api://authward-test';
export const OWN_SCOPE = `${OWN_API}/access`;
export const ROLE = 'Orders.Read';
/** authward's apiClients settings in these tests (also test/forward-auth's): the own API, app-only with ROLE. */
export const API_CLIENTS = {
  enabled: true,
  audiences: [OWN_API],
  requiredScopes: [OWN_SCOPE],
  allowAppOnly: true,
  allowedRoles: [ROLE],
};

type Raw = Record<string, unknown>;
interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface ApiWorld {
  idp: TestIdp;
  grants: ApiGrants;
  upstream: TestUpstream;
  aw: TestApp;
  /** Every log line authward wrote (info and up), as JSON text. */
  logs: string[];
  /** Another authward on the same IdP and upstream (e.g. a second replica on a shared store). */
  start(overrides?: Raw, store?: Store): Promise<TestApp>;
}

/** Starts the IdP, upstream and authward (apiClients on: own API scope, app-only with ROLE). */
export async function apiWorld(
  t: Teardown,
  mode: IdpMode,
  o: {
    overrides?: Raw;
    grants?: Partial<ApiGrantsOptions>;
    apiScopes?: string[];
    store?: Store;
    /** More IdP configuration, after the grants' (e.g. introspection, opaque tokens). */
    configureIdp?: (configuration: Record<string, unknown>) => void;
  } = {},
): Promise<ApiWorld> {
  const grants = apiGrants({ assertionAudiences: [OWN_API], appRoles: [ROLE], ...o.grants });
  const idp = await startIdp({
    mode,
    apiScopes: [OWN_SCOPE, 'api://orders/read', ...(o.apiScopes ?? [])],
    extend: {
      configure: (c) => {
        grants.extend.configure(c);
        o.configureIdp?.(c);
      },
      provider: grants.extend.provider,
    },
  });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino(loggerOptions('debug', false), sink);
  const start = async (overrides: Raw = o.overrides ?? {}, store = o.store) => {
    const aw = await startApp({
      idp,
      upstreamUrl: upstream.url,
      logger,
      ...(store ? { store } : {}),
      overrides: {
        ...overrides,
        apiClients: {
          ...API_CLIENTS,
          ...((overrides.apiClients as Raw) ?? {}),
        },
      },
    });
    t.teardown(() => aw.close());
    return aw;
  };
  const aw = await start();
  return { idp, grants, upstream, aw, logs, start };
}

/** Another authward on `config` whose token checks read time from `clock` (AppDeps.clock): its base URL. */
export async function withClock(t: Teardown, config: Config, clock: () => number): Promise<string> {
  const app = await buildApp(config, { clock });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  await waitReady(app);
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
}

/** MSAL's network module over the IdP's undici agent (MSAL wants JSON bodies, errors included). */
function networkClient(idp: TestIdp): INetworkModule {
  const send = async <T>(method: string, url: string, options?: NetworkRequestOptions) => {
    const res = await idp.fetch(url, { method, headers: options?.headers, body: options?.body });
    const text = await res.text();
    const body = text ? JSON.parse(text) : {};
    return { headers: Object.fromEntries(res.headers), body, status: res.status } as NetworkResponse<T>;
  };
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

/** A real MSAL confidential client of the test IdP (authward's own registration by default). */
export function msalClient(idp: TestIdp): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: idp.clients.secret.clientId,
      clientSecret: idp.clients.secret.clientSecret,
      authority: idp.authority,
      knownAuthorities: [idp.host],
      authorityMetadata: JSON.stringify(idp.discovery),
    },
    system: { networkClient: networkClient(idp), protocolMode: idp.mode === 'aad' ? 'AAD' : 'OIDC' },
  });
}

/** A client-credentials token for the app's API, as a service calling it would get one. */
export async function appOnlyToken(idp: TestIdp): Promise<string> {
  const r = await msalClient(idp).acquireTokenByClientCredential({ scopes: [`${OWN_API}/.default`] });
  if (!r?.accessToken) throw new Error('no client-credentials token');
  return r.accessToken;
}

/** A user's access token for the app's API: authorization code + PKCE with MSAL, the user signing in. */
export async function userToken(idp: TestIdp, login: string, scopes = [OWN_SCOPE]): Promise<string> {
  return (await userTokens(idp, login, scopes)).accessToken;
}

/** The access and ID tokens of a user's sign-in through MSAL. */
export async function userTokens(idp: TestIdp, login: string, scopes = [OWN_SCOPE]) {
  const cca = msalClient(idp);
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  const browser = new Browser({ ca: idp.caPem });
  try {
    const crypto = new CryptoProvider();
    const { verifier, challenge } = await crypto.generatePkceCodes();
    const url = await cca.getAuthCodeUrl({
      scopes,
      redirectUri,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
    });
    const page = await signIn(browser, url, { login });
    const code = new URL(page.url).searchParams.get('code');
    if (!code) throw new Error(`no code: ${page.url}`);
    const r = await cca.acquireTokenByCode({ code, scopes, redirectUri, codeVerifier: verifier });
    return { accessToken: r.accessToken, idToken: r.idToken };
  } finally {
    await browser.close();
    server.closeAllConnections();
    server.close();
  }
}

/** A request carrying the given header lines as sent (e.g. two Authorization headers), Host first. */
export function rawGet(url: string, headers: [string, string][]): Promise<{ status: number; body: string }> {
  // Node sends no Host of its own with a raw header list, and a server answers a Host-less HTTP/1.1
  // request 400 from its parser: the request would be refused before authward ever saw it.
  const lines = [['host', new URL(url).host], ...headers].flat();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: lines as unknown as http.OutgoingHttpHeaders }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/** A request to authward with a bearer token (JSON caller). */
export function call(url: string, token: string | undefined, headers: Record<string, string> = {}) {
  return fetch(url, {
    headers: {
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
  });
}

type Info = (ctx: unknown, indicator: string) => Promise<Record<string, unknown>>;

/** IdP configuration: introspection on, and the app's own API gets opaque (not JWT) access tokens. */
export function opaqueTokens(configuration: Record<string, unknown>) {
  const features = configuration.features as Record<string, Record<string, unknown>>;
  features.introspection = { enabled: true };
  const ri = features.resourceIndicators as { getResourceServerInfo: Info };
  const info = ri.getResourceServerInfo;
  ri.getResourceServerInfo = async (ctx, indicator) => {
    const base = await info(ctx, indicator);
    if (indicator !== OWN_API) return base;
    const { jwt: _jwt, ...rest } = base;
    return { ...rest, accessTokenFormat: 'opaque' };
  };
}

/** Revokes a token at the IdP (RFC 7009), as authward's own client. */
export function revoke(idp: TestIdp, token: string) {
  const c = idp.clients.secret;
  return idp.fetch(String(idp.discovery.revocation_endpoint), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, client_id: c.clientId, client_secret: c.clientSecret }).toString(),
  });
}
