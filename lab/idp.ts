// A real OpenID provider for tests: oidc-provider over HTTPS on 127.0.0.1, shaped like a generic OP or an Entra tenant.
//
// Why each knob exists is in shared/docs/msal-notes.md; in short, oidc-provider out of the box does
// not behave like Entra for MSAL (no refresh token without prompt=consent, API scopes dropped unless
// mapped to resource indicators, name/preferred_username missing from the ID token), so this helper
// adds what a real tenant does and nothing else. Trust stays local: `caPem` / `fetch` / `caFile`.
import {
  createHash,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  randomUUID,
  X509Certificate,
} from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  type CompactJWSHeaderParameters,
  CompactSign,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  type JWK,
  type JWSHeaderParameters,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { Agent, type RequestInit, type Response, fetch as undiciFetch } from 'undici';
import { createSelfSignedCertificate, createTestTls, type TestTls } from './tls.js';

export type IdpMode = 'oidc' | 'aad';

export interface IdpOptions {
  mode?: IdpMode;
  /** Extra redirect URIs; any http://127.0.0.1:*\/ and http://localhost:*\/ URI is accepted anyway. */
  redirectUris?: string[];
  /** Access token lifetime in seconds (default 3600). MSAL refreshes tokens living <= 300 s on every call. */
  accessTokenTTL?: number;
  /** Rotate refresh tokens on use (default false, like Entra for confidential web apps). */
  rotateRefreshToken?: boolean;
  /** API scopes "<resource>/<permission>"; each resource becomes a resource indicator (the access token's aud). */
  apiScopes?: string[];
  /** aad mode: the tenant GUID in the issuer path and the tid claim. */
  tenantId?: string;
  /** Listen port (default 0: ephemeral). */
  port?: number;
  /**
   * Reject a reused client-assertion jti (oidc-provider's default). Off by default because Entra
   * accepts a reused assertion and MSAL reuses its certificate assertion for up to 10 minutes.
   */
  rejectReplayedAssertions?: boolean;
  // ---- provider traits (issue 12): each one a behaviour the specs allow and some real provider shows
  /** oidc mode: the issuer's path, e.g. '/api/oidc' or '/realms/main' (Keycloak), '/oauth2/default' (Okta). */
  issuerPath?: string;
  /** Refresh responses carry neither id_token nor client_info (OIDC Core 12.2 allows it). */
  refreshWithoutIdToken?: boolean;
  /** Refused refresh requests answer with this body instead of OAuth error JSON. */
  refreshErrorBody?: 'empty' | 'html';
  /**
   * Resources (RFC 8707) whose permissions do not name them: scope -> resource. A token carries such a
   * resource as `aud` only when the token request sends `resource`, as providers that set aud from it do.
   */
  resourceScopes?: Record<string, string>;
  /** Client authentication methods the token endpoint accepts (default: every method oidc-provider has). */
  clientAuthMethods?: string[];
  /**
   * false: profile and email claims only at the UserInfo endpoint, not in the ID token (what a
   * conforming provider does when it issues an access token, OpenID Core 5.4). Default true.
   */
  claimsInIdToken?: boolean;
  /**
   * Honour post_logout_redirect_uri only when the end-session request carries `state` (optional in
   * RP-Initiated Logout 1.0; glewlwyd and some others need it): without it the user stays on the
   * provider's "signed out" page.
   */
  postLogoutNeedsState?: boolean;
  /**
   * A feature kept in its own module (e.g. test/helpers/idp-logout.ts): changes oidc-provider's
   * configuration before the provider is built, then gets the provider.
   */
  extend?: { configure?(configuration: Record<string, unknown>): void; provider?(provider: unknown): void };
}

/** Claims a test can attach to a login name. Anything here overrides the defaults. */
export interface UserClaims {
  email?: string;
  name?: string;
  preferred_username?: string;
  given_name?: string;
  family_name?: string;
  groups?: string[];
  roles?: string[];
  oid?: string;
  tid?: string;
  [claim: string]: unknown;
}

export interface IdTokenParts {
  header: JWSHeaderParameters;
  payload: JWTPayload & Record<string, unknown>;
}

export interface IdTokenTamperResult {
  payload: JWTPayload & Record<string, unknown>;
  /** Header fields to set/override (e.g. a different kid). */
  header?: Partial<JWSHeaderParameters>;
  /** 'idp-key' (default): valid signature over forged claims; 'other-key': an unrelated RS256 key; 'none': unsigned. */
  signWith?: 'idp-key' | 'other-key' | 'none';
}

export type IdTokenTamper = (token: IdTokenParts) => IdTokenTamperResult | Promise<IdTokenTamperResult>;

export interface IdpCounters {
  /** GET /auth requests. */
  authorize: number;
  /** Token endpoint requests by grant_type (attempts, successful or not). */
  authorizationCode: number;
  refreshToken: number;
  clientCredentials: number;
  otherGrants: number;
  /** Token endpoint responses with status >= 400. */
  tokenErrors: number;
  /** UserInfo requests (any outcome) and key set (JWKS) requests. */
  userinfo: number;
  jwks: number;
}

export interface IdpClients {
  secret: { clientId: string; clientSecret: string };
  cert: {
    clientId: string;
    certPem: string;
    keyPem: string;
    thumbprintSha1: string;
    thumbprintSha256: string;
  };
  assertion: {
    clientId: string;
    /** A fresh private_key_jwt assertion (iss=sub=clientId, aud=token endpoint, unique jti, 5 min exp). */
    makeAssertion(overrides?: {
      audience?: string;
      expiresInSeconds?: number;
      jti?: string;
    }): Promise<string>;
  };
}

/** The discovery fields tests use; the full JSON is kept. */
export interface Discovery {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
  userinfo_endpoint?: string;
  end_session_endpoint?: string;
  revocation_endpoint?: string;
  [key: string]: unknown;
}

export interface TestIdp {
  mode: IdpMode;
  issuer: string;
  /** What an MSAL / authward config uses as authority (oidc: the issuer; aad: https://host:port/<tenant>/). */
  authority: string;
  /** host:port, for MSAL's knownAuthorities. */
  host: string;
  port: number;
  origin: string;
  tenantId: string;
  caPem: string;
  caFile: string;
  jwksUri: string;
  discovery: Discovery;
  clients: IdpClients;
  /** API resources and their scopes, e.g. api://orders -> [api://orders/read]. */
  resources: ReadonlyMap<string, readonly string[]>;
  /** Live counters; reset with resetCounters(). */
  counters: IdpCounters;
  /** The query of every authorization request received (as sent, before the helper's rewrites). */
  authorizeRequests: Record<string, unknown>[];
  resetCounters(): void;
  /** fetch trusting only this IdP's CA (undici Agent, process-wide trust untouched). */
  fetch(url: string | URL, init?: RequestInit): Promise<Response>;
  /** The undici Agent behind fetch (for consumers that take a dispatcher). */
  dispatcher: Agent;
  setUser(login: string, claims: UserClaims): void;
  /** The claims the IdP releases for a login (defaults merged with setUser). */
  claimsFor(login: string): Record<string, unknown>;
  /** The deterministic oid GUID of a login name (aad mode claim). */
  oidFor(login: string): string;
  addRedirectUri(uri: string): void;
  /** Destroy every grant of the login (refresh tokens, access tokens, codes): a refresh then fails with invalid_grant. */
  revokeRefreshTokens(login: string): Promise<number>;
  /** Destroy the login's IdP sessions (the next authorization request shows the login form again). */
  revokeSessions(login: string): Promise<number>;
  /** Rewrite the ID token of the next authorization_code token response. */
  tamperNextIdToken(fn: IdTokenTamper): void;
  /** Rewrite the JSON body of the next successful refresh_token response (e.g. a malformed access token). */
  rewriteNextRefreshResponse(fn: (body: Record<string, unknown>) => void): void;
  /** Rewrite the JSON body of the next successful UserInfo response (e.g. another sub). */
  rewriteNextUserInfo(fn: (body: Record<string, unknown>) => void): void;
  /**
   * Roll the signing key: a new key is published (the JWKS lists it first, the old one after) and signs
   * every ID token from now on. Resolves with the new kid.
   */
  rotateSigningKey(): Promise<string>;
  /** Delay every request by ms before it is handled (0 to disable). */
  setResponseDelay(ms: number): void;
  /** Close the listener and every connection; state (grants, sessions, keys) is kept. */
  stop(): Promise<void>;
  /** Listen again on the same port. */
  start(): Promise<void>;
  /** Final close: server, agent, temp files. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------- oidc-provider surface used here
// oidc-provider ships no type declarations; this is the small part of its API this file touches.
type Next = () => Promise<void>;
interface OidcParams {
  scope?: string;
  grant_type?: string;
  [key: string]: unknown;
}
interface KoaContext {
  req: IncomingMessage;
  url: string;
  path: string;
  method: string;
  status: number;
  body: unknown;
  query: Record<string, unknown>;
  oidc?: {
    params?: OidcParams;
    body?: Record<string, unknown>;
    entities?: { Account?: { accountId?: string } };
  };
}
interface OidcClientPrototype {
  redirectUriAllowed(value: string): boolean;
  postLogoutRedirectUriAllowed(value: string): boolean;
}
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  use(fn: (ctx: KoaContext, next: Next) => Promise<void>): unknown;
  Client: { prototype: OidcClientPrototype };
}
interface OidcProviderModule {
  default: new (issuer: string, configuration: Record<string, unknown>) => OidcProvider;
  errors: { InvalidTarget: new (description?: string) => Error };
}

// Benign oidc-provider warnings (runtime version, dev interactions) are filtered while the module
// loads and the provider is built; anything else still reaches the console.
const QUIET = [/Unsupported runtime/, /devInteractions is enabled/];
let quietDepth = 0;
let originalWarn: typeof console.warn = console.warn;
async function quietly<T>(fn: () => Promise<T> | T): Promise<T> {
  // Depth-counted so overlapping startIdp() calls install and restore the filter exactly once.
  if (quietDepth++ === 0) {
    originalWarn = console.warn;
    const warn = originalWarn;
    console.warn = (...args: unknown[]) => {
      const first = args[0];
      if (typeof first === 'string' && QUIET.some((re) => re.test(first))) return;
      warn(...args);
    };
  }
  try {
    return await fn();
  } finally {
    if (--quietDepth === 0) console.warn = originalWarn;
  }
}

let oidcModule: Promise<OidcProviderModule> | undefined;
function loadOidcProvider(): Promise<OidcProviderModule> {
  // A non-literal specifier keeps TypeScript from demanding declarations for this untyped package.
  const specifier: string = 'oidc-provider';
  oidcModule ??= quietly(() => import(specifier) as Promise<OidcProviderModule>);
  return oidcModule;
}

// ---------------------------------------------------------------- storage
// One store per IdP (oidc-provider's default memory adapter is a process-wide 1000-entry LRU shared
// by every provider instance), which also lets tests find grants and sessions by account.
interface Stored {
  payload: Record<string, unknown>;
  expiresAt: number;
}

class MemoryStore {
  readonly entries = new Map<string, Stored>();

  get(key: string): Record<string, unknown> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  *scan(model: string): Generator<[string, Record<string, unknown>]> {
    const prefix = `${model}:`;
    for (const key of [...this.entries.keys()]) {
      if (!key.startsWith(prefix)) continue;
      const payload = this.get(key);
      if (payload) yield [key.slice(prefix.length), payload];
    }
  }
}

function adapterFactory(store: MemoryStore, rejectReplays: boolean) {
  return (model: string) => ({
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      // Entra accepts a client assertion more than once; remembering nothing makes every jti "unique".
      if (model === 'ReplayDetection' && !rejectReplays) return;
      const expiresAt =
        typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY;
      store.entries.set(`${model}:${id}`, { payload, expiresAt });
    },
    async find(id: string) {
      return store.get(`${model}:${id}`);
    },
    async findByUid(uid: string) {
      for (const [, payload] of store.scan(model)) if (payload.uid === uid) return payload;
      return undefined;
    },
    async findByUserCode(userCode: string) {
      for (const [, payload] of store.scan(model)) if (payload.userCode === userCode) return payload;
      return undefined;
    },
    async consume(id: string) {
      const payload = store.get(`${model}:${id}`);
      if (payload) payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id: string) {
      store.entries.delete(`${model}:${id}`);
    },
    async revokeByGrantId(grantId: string) {
      for (const [id, payload] of store.scan(model)) {
        if (payload.grantId === grantId) store.entries.delete(`${model}:${id}`);
      }
    },
  });
}

// ---------------------------------------------------------------- helpers
const generateKeyPairAsync = promisify(generateKeyPair);
const DEFAULT_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
export const DEFAULT_API_SCOPES = ['api://orders/read', 'api://graph/user.read', 'api://bench/read'];

/** "api://orders/read" -> "api://orders"; null when the scope is not of the form <resource>/<permission>. */
export function resourceOf(scope: string): string | null {
  const scheme = scope.indexOf('://');
  const slash = scope.lastIndexOf('/');
  return scheme > 0 && slash > scheme + 2 ? scope.slice(0, slash) : null;
}

/** A GUID derived from a string (name-based, version nibble 5), stable across runs. */
function guidFrom(input: string): string {
  const h = createHash('sha256').update(input).digest('hex');
  const variant = ((Number.parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function isLoopbackHttpUri(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === 'http:' &&
    (url.hostname === '127.0.0.1' || url.hostname === 'localhost') &&
    url.hash === '' &&
    url.username === '' &&
    url.password === ''
  );
}

async function rsaKey(): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return generateKeyPairAsync('rsa', { modulusLength: 2048 });
}

function listen(server: https.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolve();
    });
  });
}

// ---------------------------------------------------------------- the IdP
export async function startIdp(opts: IdpOptions = {}): Promise<TestIdp> {
  const mode: IdpMode = opts.mode ?? 'oidc';
  const tenantId = opts.tenantId ?? DEFAULT_TENANT;
  const accessTokenTTL = opts.accessTokenTTL ?? 3600;
  const apiScopes = opts.apiScopes ?? DEFAULT_API_SCOPES;

  const resources = new Map<string, string[]>();
  for (const scope of apiScopes) {
    const resource = resourceOf(scope);
    if (!resource)
      throw new Error(`startIdp: apiScopes: "${scope}" is not of the form <resource>/<permission>`);
    resources.set(resource, [...(resources.get(resource) ?? []), scope]);
  }
  const resourceScopes = opts.resourceScopes ?? {};
  const namelessResources = new Set(Object.values(resourceScopes));
  for (const [scope, resource] of Object.entries(resourceScopes)) {
    resources.set(resource, [...(resources.get(resource) ?? []), scope]);
  }

  const oidc = await loadOidcProvider();
  const tls: TestTls = await createTestTls();
  let server: https.Server | undefined;
  try {
    // The three RSA keys generate in parallel on the libuv pool (200-400 ms each on this machine).
    const [clientCert, signing, assertionKey] = await Promise.all([
      createSelfSignedCertificate({ dir: tls.dir, name: 'client-cert', commonName: 'authward-cert' }),
      rsaKey(),
      rsaKey(),
    ]);
    let otherKey: Promise<{ privateKey: KeyObject }> | undefined;

    // Listen first: with port 0 the issuer (which contains the port) is only known afterwards.
    let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
    const srv = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
      if (!handler) {
        res.statusCode = 503;
        res.end();
        return;
      }
      handler(req, res);
    });
    server = srv;
    await listen(srv, opts.port ?? 0);
    const port = (srv.address() as AddressInfo).port;
    const origin = `https://127.0.0.1:${port}`;
    const mountPath = mode === 'aad' ? `/${tenantId}/v2.0` : (opts.issuerPath ?? '').replace(/\/+$/, '');
    const issuer = `${origin}${mountPath}`;
    const authority = mode === 'aad' ? `${origin}/${tenantId}/` : issuer;

    const store = new MemoryStore();
    const users = new Map<string, UserClaims>();
    const extraRedirectUris = new Set(opts.redirectUris ?? []);
    const authorizeRequests: Record<string, unknown>[] = [];
    const counters: IdpCounters = {
      authorize: 0,
      authorizationCode: 0,
      refreshToken: 0,
      clientCredentials: 0,
      otherGrants: 0,
      tokenErrors: 0,
      userinfo: 0,
      jwks: 0,
    };
    let delayMs = 0;
    let pendingTamper: IdTokenTamper | undefined;
    let pendingRefreshRewrite: ((body: Record<string, unknown>) => void) | undefined;

    const oidFor = (login: string) => guidFrom(`oid:${tenantId}:${login}`);
    const claimsFor = (login: string): Record<string, unknown> => {
      const defaults: Record<string, unknown> = {
        email: `${login}@test.invalid`,
        email_verified: true,
        name: `Test user ${login}`,
        preferred_username: `${login}@test.invalid`,
      };
      if (mode === 'aad') Object.assign(defaults, { oid: oidFor(login), tid: tenantId, ver: '2.0' });
      // sub is always the login: oidc-provider's account id and the ID token subject must agree.
      return { ...defaults, ...users.get(login), sub: login };
    };

    // Client signing keys: the certificate client's JWK carries its x5c, like a certificate uploaded
    // to an Entra app registration; MSAL's assertion has only x5t / x5t#S256 (no kid), and
    // oidc-provider then tries every key of the client whose kty matches the alg (RS256 or PS256).
    const certJwk: JWK = {
      ...(await exportJWK(new X509Certificate(clientCert.certPem).publicKey)),
      use: 'sig',
      x5c: [new X509Certificate(clientCert.certPem).raw.toString('base64')],
    };
    const assertionKid = 'workload-identity-1';
    const assertionJwk: JWK = {
      ...(await exportJWK(assertionKey.publicKey)),
      kid: assertionKid,
      use: 'sig',
      alg: 'RS256',
    };
    const signingJwk: JWK = {
      ...(await exportJWK(signing.privateKey)),
      kid: 'idp-rs256-1',
      use: 'sig',
      alg: 'RS256',
    };

    const clientIds = { secret: 'authward-secret', cert: 'authward-cert', assertion: 'authward-assertion' };
    const clientSecret = randomBytes(24).toString('base64url');
    const commonClient = {
      // oidc-provider wants at least one registered URI; loopback URIs on any port are allowed below.
      redirect_uris: ['http://127.0.0.1/callback', ...extraRedirectUris],
      post_logout_redirect_uris: ['http://127.0.0.1/'],
      response_types: ['code'],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    };

    // The resources a scope string names (unknown ones too: the OP then answers invalid_target
    // instead of silently dropping the scope).
    // Scopes that do not name their resource (resourceScopes) never select it: only a `resource`
    // parameter does, at authorization (RFC 8707 2.1, as Auth0 and glewlwyd) and then per token request.
    const resourcesInScope = (scope: unknown) => [
      ...new Set(
        String(scope ?? '')
          .split(' ')
          .map(resourceOf)
          .filter((r): r is string => r !== null),
      ),
    ];
    // Entra's "<resource>/.default" means every permission of the resource.
    const expandDefault = (scope: string) =>
      [
        ...new Set(
          scope
            .split(' ')
            .filter(Boolean)
            .flatMap((s) => {
              if (!s.endsWith('/.default')) return [s];
              const granted = resources.get(s.slice(0, -'/.default'.length));
              return granted ?? [s];
            }),
        ),
      ].join(' ');

    // Trait: a token endpoint that takes only some client authentication methods (e.g. Basic only).
    const secretAuthMethod =
      opts.clientAuthMethods?.find((m) => m === 'client_secret_post' || m === 'client_secret_basic') ??
      'client_secret_post';
    const configuration: Record<string, unknown> = {
      ...(opts.clientAuthMethods ? { clientAuthMethods: opts.clientAuthMethods } : {}),
      adapter: adapterFactory(store, opts.rejectReplayedAssertions ?? false),
      clients: [
        {
          ...commonClient,
          client_id: clientIds.secret,
          client_secret: clientSecret,
          // MSAL Node sends client_id + client_secret in the form body; oidc-provider accepts body or
          // Basic for a client registered with either secret method.
          token_endpoint_auth_method: secretAuthMethod,
        },
        {
          ...commonClient,
          client_id: clientIds.cert,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [certJwk] },
        },
        {
          ...commonClient,
          client_id: clientIds.assertion,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [assertionJwk] },
        },
      ],
      jwks: { keys: [signingJwk] },
      cookies: { keys: [randomBytes(32).toString('base64url')] },
      scopes: ['openid', 'offline_access', 'profile', 'email'],
      claims: {
        // Directory claims ride on `openid` so they reach the ID token whatever else was asked for.
        openid: ['sub', 'oid', 'tid', 'ver', 'groups', 'roles', 'hasgroups', 'wids', 'xms_edov'],
        // MSAL always asks for `profile` (never `email`); Entra still puts email in the ID token.
        profile: [
          'name',
          'preferred_username',
          'email',
          'email_verified',
          'given_name',
          'family_name',
          'upn',
        ],
        email: ['email', 'email_verified'],
      },
      conformIdTokenClaims: opts.claimsInIdToken === false,
      findAccount: (_ctx: unknown, accountId: string) => ({
        accountId,
        claims: async () => claimsFor(accountId),
      }),
      pkce: { required: () => true },
      rotateRefreshToken: opts.rotateRefreshToken ?? false,
      ttl: {
        AccessToken: accessTokenTTL,
        ClientCredentials: accessTokenTTL,
        AuthorizationCode: 60,
        IdToken: 3600,
        RefreshToken: 86400,
        Interaction: 600,
        Session: 86400,
        Grant: 86400,
      },
      extraTokenClaims: async (_ctx: unknown, token: { accountId?: string }) => {
        if (mode !== 'aad') return undefined;
        return token.accountId ? { tid: tenantId, oid: oidFor(token.accountId) } : { tid: tenantId };
      },
      features: {
        devInteractions: { enabled: true },
        revocation: { enabled: true },
        clientCredentials: { enabled: true },
        // Conditional Access claims challenges arrive as a `claims` authorization parameter.
        claimsParameter: { enabled: true },
        resourceIndicators: {
          enabled: true,
          // Authorization request without `resource`: the resources its scopes name. Token request:
          // the granted resource the requested scope names.
          defaultResource: async (ctx: KoaContext, _client: unknown, oneOf?: string[]) => {
            const params = ctx.oidc?.params;
            // Token requests reach here before scopes are checked: expand .default in place.
            if (params && typeof params.scope === 'string') params.scope = expandDefault(params.scope);
            const wanted = resourcesInScope(params?.scope ?? ctx.oidc?.body?.scope);
            // A resource that only a `resource` parameter selects is never the default aud.
            if (oneOf)
              return oneOf.find((r) => wanted.includes(r)) ?? oneOf.find((r) => !namelessResources.has(r));
            if (wanted.length === 0) return undefined;
            return wanted.length === 1 ? wanted[0] : wanted;
          },
          // Otherwise a code/refresh token that also carries `openid` yields an opaque userinfo token.
          // A resourceScopes resource alone is never used unasked (its aud comes only from `resource`).
          useGrantedResource: async (_ctx: unknown, model: { resource?: string | string[] }) =>
            typeof model.resource !== 'string' || !namelessResources.has(model.resource),
          getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
            const scopes = resources.get(indicator);
            if (!scopes) throw new oidc.errors.InvalidTarget(`unknown resource ${indicator}`);
            return {
              scope: scopes.join(' '),
              accessTokenFormat: 'jwt',
              accessTokenTTL,
              jwt: { sign: { alg: 'RS256' } },
            };
          },
        },
      },
    };

    opts.extend?.configure?.(configuration);
    const provider = await quietly(() => new oidc.default(issuer, configuration));
    opts.extend?.provider?.(provider);

    // Apps start on port 0 after the IdP: accept any loopback http redirect URI, like a dev tenant
    // with http://localhost registered (Entra ignores the port for loopback redirect URIs).
    const clientProto = provider.Client.prototype;
    const redirectUriAllowed = clientProto.redirectUriAllowed;
    const postLogoutAllowed = clientProto.postLogoutRedirectUriAllowed;
    clientProto.redirectUriAllowed = function (this: OidcClientPrototype, value: string) {
      return isLoopbackHttpUri(value) || extraRedirectUris.has(value) || redirectUriAllowed.call(this, value);
    };
    clientProto.postLogoutRedirectUriAllowed = function (this: OidcClientPrototype, value: string) {
      return isLoopbackHttpUri(value) || extraRedirectUris.has(value) || postLogoutAllowed.call(this, value);
    };

    const otherSigningKey = () => {
      otherKey ??= rsaKey();
      return otherKey;
    };
    const retamper = async (idToken: string, fn: IdTokenTamper): Promise<string> => {
      const header = decodeProtectedHeader(idToken);
      const payload = decodeJwt(idToken) as JWTPayload & Record<string, unknown>;
      const out = await fn({ header: { ...header }, payload: { ...payload } });
      const newHeader = { ...header, ...out.header } as CompactJWSHeaderParameters;
      const body = new TextEncoder().encode(JSON.stringify(out.payload));
      if (out.signWith === 'none') {
        const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return `${enc({ ...newHeader, alg: 'none' })}.${Buffer.from(body).toString('base64url')}.`;
      }
      const key = out.signWith === 'other-key' ? (await otherSigningKey()).privateKey : signing.privateKey;
      return new CompactSign(body).setProtectedHeader(newHeader).sign(key);
    };

    provider.use(async (ctx, next) => {
      // Unref'd: a delayed request on a connection that stop() destroys must not hold the event loop.
      if (delayMs > 0) await sleep(delayMs, undefined, { ref: false });

      if (
        opts.postLogoutNeedsState &&
        ctx.path === '/session/end' &&
        ctx.method === 'GET' &&
        !ctx.query.state
      ) {
        const { post_logout_redirect_uri: _dropped, ...query } = ctx.query;
        ctx.query = query;
        // (as below: keep originalUrl consistent with the rewritten url under a mount path)
        if (mountPath)
          (ctx.req as IncomingMessage & { originalUrl?: string }).originalUrl = `${mountPath}${ctx.url}`;
      }
      if (ctx.path === '/auth' && ctx.method === 'GET') {
        counters.authorize++;
        const query = { ...ctx.query };
        authorizeRequests.push({ ...query } as Record<string, unknown>);
        if (typeof query.scope === 'string') {
          const scope = expandDefault(query.scope);
          query.scope = scope;
          // MSAL never sends prompt=consent, and oidc-provider drops offline_access (so: no refresh
          // token) without it; Entra issues refresh tokens regardless.
          if (!query.prompt && scope.split(' ').includes('offline_access')) query.prompt = 'consent';
        }
        // An authorization request naming resources still gets those its scopes name (oidc-provider
        // would grant only the named ones).
        if (query.resource !== undefined) {
          const named = [query.resource].flat().map(String);
          query.resource = [...new Set([...named, ...resourcesInScope(query.scope)])];
        }
        ctx.query = query;
        // Setting ctx.query rewrites req.url; oidc-provider finds its mount path by locating req.url
        // inside req.originalUrl, so keep the two consistent or every URL it emits loses the prefix.
        if (mountPath)
          (ctx.req as IncomingMessage & { originalUrl?: string }).originalUrl = `${mountPath}${ctx.url}`;
      }

      const isToken = ctx.path === '/token' && ctx.method === 'POST';
      await next();
      if (!isToken) return;

      const grantType = ctx.oidc?.params?.grant_type ?? ctx.oidc?.body?.grant_type;
      if (grantType === 'authorization_code') counters.authorizationCode++;
      else if (grantType === 'refresh_token') counters.refreshToken++;
      else if (grantType === 'client_credentials') counters.clientCredentials++;
      else counters.otherGrants++;
      if (ctx.status >= 400) counters.tokenErrors++;
      if (ctx.status >= 400 && grantType === 'refresh_token' && opts.refreshErrorBody) {
        // Trait: a refused refresh with no OAuth error body (empty, or a gateway's HTML page).
        const status = ctx.status;
        ctx.body = opts.refreshErrorBody === 'html' ? '<html><body>Bad Request</body></html>' : '';
        (ctx as unknown as { type: string }).type =
          opts.refreshErrorBody === 'html' ? 'text/html' : 'text/plain';
        ctx.status = status;
        return;
      }
      if (ctx.status !== 200 || typeof ctx.body !== 'object' || ctx.body === null) return;

      const body = ctx.body as Record<string, unknown>;
      const idToken = typeof body.id_token === 'string' ? body.id_token : undefined;
      if (mode === 'aad' && grantType !== 'client_credentials') {
        // Entra's client_info lets MSAL build homeAccountId = "<oid>.<tid>".
        const accountId =
          ctx.oidc?.entities?.Account?.accountId ?? (idToken ? String(decodeJwt(idToken).sub) : undefined);
        if (accountId) {
          body.client_info = Buffer.from(JSON.stringify({ uid: oidFor(accountId), utid: tenantId })).toString(
            'base64url',
          );
        }
      }
      if (idToken && grantType === 'authorization_code' && pendingTamper) {
        const fn = pendingTamper;
        pendingTamper = undefined;
        body.id_token = await retamper(idToken, fn);
      }
      if (grantType === 'refresh_token') {
        // Trait: OIDC Core 12.2 lets a refresh response omit the ID token (and Entra's client_info).
        if (opts.refreshWithoutIdToken) {
          delete body.id_token;
          delete body.client_info;
        }
        const rewrite = pendingRefreshRewrite;
        pendingRefreshRewrite = undefined;
        rewrite?.(body);
      }
    });

    // Traits: key rotation and claims at UserInfo. Inside the middleware above (koa order): these
    // rewrites happen first, so a tamperNextIdToken after a rotation re-signs with the original key.
    let rotated: { privateKey: KeyObject; kid: string; jwk: JWK } | undefined;
    let rotations = 0;
    let pendingUserInfo: ((body: Record<string, unknown>) => void) | undefined;
    const rotateSigningKey = async () => {
      const pair = await rsaKey();
      const kid = `idp-rs256-rotated-${++rotations}`;
      const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid, use: 'sig', alg: 'RS256' };
      rotated = { privateKey: pair.privateKey, kid, jwk };
      return kid;
    };
    provider.use(async (ctx, next) => {
      await next();
      if (ctx.path === '/me') counters.userinfo++;
      if (ctx.path === '/jwks') counters.jwks++;
      if (ctx.status !== 200 || typeof ctx.body !== 'object' || ctx.body === null) return;
      const body = ctx.body as Record<string, unknown>;
      if (ctx.path === '/me' && pendingUserInfo) {
        const fn = pendingUserInfo;
        pendingUserInfo = undefined;
        fn(body);
      }
      if (ctx.path === '/jwks' && rotated) ctx.body = { keys: [rotated.jwk, ...(body.keys as JWK[])] };
      if (ctx.path === '/token' && rotated && typeof body.id_token === 'string') {
        const [, payload] = body.id_token.split('.');
        body.id_token = await new CompactSign(Buffer.from(payload as string, 'base64url'))
          .setProtectedHeader({ ...decodeProtectedHeader(body.id_token), alg: 'RS256', kid: rotated.kid })
          .sign(rotated.privateKey);
      }
    });

    // aad mode: oidc-provider is mounted under /<tenant>/v2.0. It derives the mount path of every URL
    // it emits from req.originalUrl minus req.url (what express/koa-mount do), so strip the prefix here.
    const callback = provider.callback();
    handler = (req, res) => {
      const url = req.url ?? '/';
      if (mountPath) {
        if (url !== mountPath && !url.startsWith(`${mountPath}/`) && !url.startsWith(`${mountPath}?`)) {
          res.statusCode = 404;
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ error: 'not_found', error_description: `not under ${mountPath}` }));
          return;
        }
        (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
        req.url = url.slice(mountPath.length) || '/';
      }
      callback(req, res);
    };

    const agent = new Agent({ connect: { ca: tls.caPem } });
    const idpFetch = (url: string | URL, init: RequestInit = {}) =>
      undiciFetch(url, { ...init, dispatcher: agent });

    const discoveryResponse = await idpFetch(`${issuer}/.well-known/openid-configuration`);
    if (!discoveryResponse.ok) throw new Error(`startIdp: discovery answered ${discoveryResponse.status}`);
    const discovery = (await discoveryResponse.json()) as Discovery;
    if (discovery.issuer !== issuer)
      throw new Error(`startIdp: discovery issuer ${discovery.issuer} != ${issuer}`);

    let listening = true;
    let closed = false;
    const stop = async () => {
      if (!listening) return;
      listening = false;
      const closedPromise = new Promise<void>((resolve) => srv.close(() => resolve()));
      srv.closeAllConnections();
      await closedPromise;
    };

    const idp: TestIdp = {
      mode,
      issuer,
      authority,
      host: `127.0.0.1:${port}`,
      port,
      origin,
      tenantId,
      caPem: tls.caPem,
      caFile: tls.caFile,
      jwksUri: discovery.jwks_uri,
      discovery,
      resources,
      counters,
      authorizeRequests,
      resetCounters() {
        for (const key of Object.keys(counters) as (keyof IdpCounters)[]) counters[key] = 0;
      },
      clients: {
        secret: { clientId: clientIds.secret, clientSecret },
        cert: {
          clientId: clientIds.cert,
          certPem: clientCert.certPem,
          keyPem: clientCert.keyPem,
          thumbprintSha1: clientCert.thumbprintSha1,
          thumbprintSha256: clientCert.thumbprintSha256,
        },
        assertion: {
          clientId: clientIds.assertion,
          makeAssertion: (o = {}) =>
            new SignJWT({})
              .setProtectedHeader({ alg: 'RS256', kid: assertionKid, typ: 'JWT' })
              .setIssuer(clientIds.assertion)
              .setSubject(clientIds.assertion)
              // oidc-provider 9 accepts the issuer, the token endpoint URL or the current endpoint URL.
              .setAudience(o.audience ?? discovery.token_endpoint)
              .setJti(o.jti ?? randomUUID())
              .setIssuedAt()
              .setExpirationTime(Math.floor(Date.now() / 1000) + (o.expiresInSeconds ?? 300))
              .sign(assertionKey.privateKey),
        },
      },
      fetch: idpFetch,
      dispatcher: agent,
      setUser(login, claims) {
        users.set(login, { ...claims });
      },
      claimsFor,
      oidFor,
      addRedirectUri(uri) {
        extraRedirectUris.add(uri);
      },
      async revokeRefreshTokens(login) {
        let revoked = 0;
        for (const [grantId, grant] of store.scan('Grant')) {
          if (grant.accountId !== login) continue;
          for (const [key, entry] of store.entries) {
            if (entry.payload.grantId === grantId) store.entries.delete(key);
          }
          store.entries.delete(`Grant:${grantId}`);
          revoked++;
        }
        return revoked;
      },
      async revokeSessions(login) {
        let revoked = 0;
        for (const [id, session] of store.scan('Session')) {
          if (session.accountId !== login) continue;
          store.entries.delete(`Session:${id}`);
          revoked++;
        }
        return revoked;
      },
      rewriteNextRefreshResponse(fn) {
        pendingRefreshRewrite = fn;
      },
      tamperNextIdToken(fn) {
        pendingTamper = fn;
      },
      rewriteNextUserInfo(fn) {
        pendingUserInfo = fn;
      },
      rotateSigningKey,
      setResponseDelay(ms) {
        delayMs = ms;
      },
      stop,
      async start() {
        if (closed) throw new Error('idp: start() after close()');
        if (listening) return;
        await listen(srv, port);
        listening = true;
      },
      async close() {
        if (closed) return;
        closed = true;
        await stop();
        await agent.close();
        tls.cleanup();
      },
    };
    return idp;
  } catch (err) {
    server?.close();
    server?.closeAllConnections();
    tls.cleanup();
    throw err;
  }
}
