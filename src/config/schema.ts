// The configuration schema: the single source of truth for keys, types, defaults and the README reference.
import {
  type Static,
  type TObject,
  type TOptional,
  type TProperties,
  type TSchema,
  type TString,
  Type,
} from '@sinclair/typebox';

// A secret field `x` may also be given as `xFile` (a path whose trimmed contents are the value):
// how Kubernetes and Docker secrets arrive. `secret: true` tells the loader and the error masker.
function secret<K extends string, T extends TSchema>(name: K, schema: T) {
  const file = Type.Optional(
    Type.String({
      minLength: 1,
      description: `Path of a file holding \`${name}\` (instead of \`${name}\`).`,
    }),
  );
  return { [name]: Type.Optional({ ...schema, secret: true }), [`${name}File`]: file } as Record<
    K,
    TOptional<T>
  > &
    Record<`${K}File`, TOptional<TString>>;
}

const strict = <T extends TProperties>(properties: T, description: string, defaults: object = {}) =>
  Type.Object(properties, { additionalProperties: false, description, default: defaults });

const HttpUrl = (description: string) => Type.String({ format: 'http-url', description });
const Path = (description: string, dflt?: string) =>
  Type.String({ format: 'abs-path', description, ...(dflt === undefined ? {} : { default: dflt }) });
const Seconds = (description: string, dflt: number, max = 31_536_000) =>
  Type.Number({ exclusiveMinimum: 0, maximum: max, default: dflt, description });
const Key32 = Type.String({ format: 'base64-key32', description: 'A base64-encoded 32-byte key.' });
const HostPort = Type.Object(
  {
    host: Type.String({ minLength: 1, description: 'Host name or address.' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, description: 'Port.' }),
  },
  { additionalProperties: false },
);
const BodyLimit = Type.Optional(
  Type.Integer({
    minimum: 0,
    description:
      'Largest request body in bytes: 413 past it (a chunked body is cut there). Default: unlimited.',
  }),
);
const Methods = Type.Array(
  Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m))),
  { minItems: 1, uniqueItems: true, description: 'HTTP methods this entry applies to (default: all).' },
);

const Listen = strict(
  {
    host: Type.String({ default: '0.0.0.0', minLength: 1, description: 'Address to listen on.' }),
    port: Type.Integer({ default: 8080, minimum: 0, maximum: 65535, description: 'Port to listen on.' }),
    workers: Type.Integer({
      default: 1,
      minimum: 1,
      maximum: 64,
      description:
        'Processes sharing the port (node:cluster), one core each; above 1 needs tokenCache.type redis.',
    }),
  },
  'Where authward accepts client connections.',
);

const Health = strict(
  {
    livenessPath: Path('Liveness probe path (process alive).', '/healthz'),
    readinessPath: Path('Readiness probe path (config loaded, own start-up done).', '/readyz'),
  },
  'Health probe paths, served on the main port. Change them if the app owns these paths.',
);

const ClientCertificate = Type.Object(
  {
    certificateFile: Type.String({
      minLength: 1,
      description: 'PEM certificate registered with the provider.',
    }),
    privateKeyFile: Type.String({ minLength: 1, description: 'PEM private key of that certificate.' }),
    ...secret('passphrase', Type.String({ description: 'Passphrase of an encrypted private key.' })),
  },
  { additionalProperties: false, description: 'Client certificate credential (private_key_jwt).' },
);

const Identity = strict(
  {
    protocol: Type.Union([Type.Literal('aad'), Type.Literal('oidc')], {
      default: 'aad',
      description: '`aad` for the Microsoft identity platform (Entra ID), `oidc` for any OpenID provider.',
    }),
    instance: Type.String({
      format: 'http-url',
      default: 'https://login.microsoftonline.com/',
      description: 'aad: the cloud instance.',
    }),
    tenantId: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'aad: `common`, `organizations`, `consumers` or a tenant GUID.',
      }),
    ),
    authority: Type.Optional(
      HttpUrl(
        'oidc: the issuer URL (must equal the discovery `issuer`). aad: overrides instance + tenantId.',
      ),
    ),
    clientId: Type.String({ minLength: 1, description: 'Application (client) ID.' }),
    ...secret('clientSecret', Type.String({ minLength: 1, description: 'Client secret.' })),
    clientCertificate: Type.Optional(ClientCertificate),
    clientAuthMethod: Type.Union(
      [Type.Literal('auto'), Type.Literal('client_secret_post'), Type.Literal('client_secret_basic')],
      {
        default: 'auto',
        description:
          'How a client secret is sent to the token endpoint. `auto`: `client_secret_post` when discovery’s `token_endpoint_auth_methods_supported` lists it, else `client_secret_basic` (the spec’s default).',
      },
    ),
    clientAssertionFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'File holding a client assertion JWT, read on every use (workload identity federation).',
      }),
    ),
    scopes: Type.Array(Type.String({ minLength: 1 }), {
      default: ['openid', 'profile', 'offline_access'],
      description: 'Scopes asked at sign-in.',
    }),
    routeScopes: Type.Union([Type.Literal('signIn'), Type.Literal('firstUse')], {
      default: 'signIn',
      description: "When routes' scopes are consented: all at sign-in, or incrementally on first use.",
    }),
    caFile: Type.Optional(
      Type.String({ minLength: 1, description: 'Extra CA (PEM) trusted for the provider.' }),
    ),
    allowedTenants: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'aad multi-tenant: `tid` values accepted at sign-in.',
      }),
    ),
    clientCapabilities: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Client capabilities sent to the provider, e.g. [cp1] for Conditional Access claims challenges.',
    }),
    pathPrefix: Path('Prefix of authward’s own endpoints (login, logout, me).', '/.auth'),
    callbackPath: Path('Redirect URI path registered at the provider.', '/.auth/login/aad/callback'),
    timeout: Seconds('Timeout of every call to the provider.', 10, 120),
    clockSkew: Seconds('Clock skew tolerated when checking ID tokens.', 120, 600),
  },
  'The identity provider and this application’s registration.',
);

const Session = strict(
  {
    cookieName: Type.String({
      default: 'authward',
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'Session cookie name; prefixed with `__Host-` when publicUrl is https.',
    }),
    ...secret(
      'keys',
      Type.Array(Key32, {
        minItems: 1,
        description: 'Session keys: the first encrypts, all decrypt. Generate with `authward keygen`.',
      }),
    ),
    lifetime: Seconds('Absolute session lifetime.', 8 * 3600),
    idleTimeout: Seconds('Idle timeout: a session unused for this long ends.', 3600),
    revocationCheckInterval: Seconds(
      'How long a replica may trust a session record before rechecking it.',
      30,
      300,
    ),
  },
  'The encrypted session cookie.',
);

const TokenCache = strict(
  {
    type: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      default: 'memory',
      description: '`memory` (single replica) or `redis` (shared by replicas).',
    }),
    url: Type.Optional(Type.String({ format: 'redis-url', description: '`redis://` or `rediss://` URL.' })),
    sentinels: Type.Optional(
      Type.Array(HostPort, { minItems: 1, description: 'Sentinel nodes (with `name`).' }),
    ),
    name: Type.Optional(Type.String({ minLength: 1, description: 'Sentinel master name.' })),
    cluster: Type.Optional(Type.Array(HostPort, { minItems: 1, description: 'Redis Cluster seed nodes.' })),
    username: Type.Optional(Type.String({ minLength: 1, description: 'Redis ACL user.' })),
    ...secret('password', Type.String({ minLength: 1, description: 'Redis password.' })),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'CA (PEM) for `rediss://`.' })),
    keyPrefix: Type.String({
      default: 'authward:',
      description: 'Prefix of every key, so apps can share a Redis.',
    }),
    ...secret(
      'encryptionKeys',
      Type.Array(Key32, { minItems: 1, description: 'AES-256-GCM keys: first encrypts.' }),
    ),
    ttl: Seconds(
      'Lifetime of a cache entry, sliding on each write (as long as a refresh token lives).',
      14 * 86400,
    ),
    maxEntries: Type.Integer({
      default: 100_000,
      minimum: 1,
      description: 'memory: most entries kept (least recently used go first); a signed-in user takes two.',
    }),
    connectTimeout: Seconds('Redis connect timeout.', 2, 60),
    commandTimeout: Seconds(
      'Redis command timeout. Once a command times out, every command fails at once (503, store reported down) until Redis answers a probe: a request waits for Redis at most this long.',
      1,
      60,
    ),
    l1Ttl: Seconds('Longest an access token is served from the in-process cache before rechecking.', 30, 300),
    renewWindow: Type.Number({
      default: 0.1,
      exclusiveMinimum: 0,
      maximum: 1,
      description:
        'Share of an access token’s lifetime, at its end, in which it is renewed instead of reused: at most 300 s, at least 5 s (or half a shorter life). 0.1 reuses a 60 s token for 54 s and a 1 h token for 55 min. 1 is MSAL’s fixed 300 s (tokens living 300 s or less are refreshed on every call).',
    }),
    l1MaxEntries: Type.Integer({
      default: 50_000,
      minimum: 1,
      description: 'In-process access-token cache size.',
    }),
  },
  'Where each account’s tokens are kept.',
);

const IdentityHeaders = strict(
  {
    msClientPrincipal: Type.Boolean({
      default: true,
      description: 'App Service `X-MS-CLIENT-PRINCIPAL*` headers.',
    }),
    forwarded: Type.Boolean({
      default: true,
      description: 'oauth2-proxy `X-Forwarded-User/-Email/...` headers.',
    }),
    userClaim: Type.Union([Type.Literal('id'), Type.Literal('preferred_username'), Type.Literal('email')], {
      default: 'id',
      description:
        'Claim sent as `X-Forwarded-User`: `id` (`oid` on Entra, else `sub`), `preferred_username`, or `email` (verified only); header left out when the user has none.',
    }),
  },
  'Which identity header families are sent.',
);

const Upstream = strict(
  {
    url: HttpUrl('The protected application.'),
    timeout: Seconds('Seconds to wait for the upstream’s response headers (then 504).', 30, 3600),
    caFile: Type.Optional(
      Type.String({ minLength: 1, description: 'Extra CA (PEM) for an https upstream.' }),
    ),
    identityHeaders: IdentityHeaders,
    tokens: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Scopes whose access token is sent as `X-MS-TOKEN-AAD-ACCESS-TOKEN` (as App Service does).',
    }),
    bodyLimit: BodyLimit,
  },
  'The default upstream: every request no route claims.',
);

const Route = Type.Object(
  {
    name: Type.String({
      pattern: '^[a-z0-9][a-z0-9_-]*$',
      description: 'Unique name, used in logs and metrics.',
    }),
    path: Type.String({
      format: 'route-path',
      description: 'Path prefix; the rest is appended to `target`.',
    }),
    target: HttpUrl('Downstream base URL (may carry a base path).'),
    scopes: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'Scopes of the injected token.',
    }),
    token: Type.Union([Type.Literal('user'), Type.Literal('app')], {
      default: 'user',
      description: '`user`: delegated token of the signed-in account; `app`: the application’s own token.',
    }),
    methods: Type.Optional(Methods),
    timeout: Seconds('Seconds to wait for the response headers.', 30, 3600),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'Extra CA (PEM) for an https target.' })),
    identityHeaders: Type.Boolean({
      default: false,
      description: 'Also send identity headers to this route.',
    }),
    resource: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z][A-Za-z0-9+.-]*:[^#\\s]+$',
        description:
          'RFC 8707 resource indicator sent on this route’s token requests (absolute URI, no fragment): for providers that set the token’s `aud` from `resource` rather than from the scopes.',
      }),
    ),
    websocket: Type.Boolean({
      default: false,
      description: 'Proxy WebSocket upgrades to this route (with its token); off: an upgrade gets 400.',
    }),
    bodyLimit: BodyLimit,
    public: Type.Boolean({
      default: false,
      description:
        'token app only. DANGEROUS: publicRoutes entries under this route then send the application’s own token for anonymous callers (anyone may call the API as the application). Without it such an overlap is a config error.',
    }),
    forwardHeaders: Type.Array(Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" }), {
      default: [],
      uniqueItems: true,
      description:
        'Request headers sent to the target besides the default allow-list (docs/security.md); all others are dropped.',
    }),
    forwardCookies: Type.Union([Type.Boolean(), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })], {
      default: false,
      description:
        'Client cookies sent to the target: false (none), true (all), or a list of names. authward’s own never.',
    }),
  },
  { additionalProperties: false },
);

const PublicRoute = Type.Object(
  {
    path: Type.String({ format: 'route-path', description: 'Exact path, or a prefix ending in `*`.' }),
    methods: Type.Optional(Methods),
  },
  { additionalProperties: false },
);

const Rule = Type.Object(
  {
    allowedTenants: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Tenant ids (`tid`) allowed.' }),
    ),
    allowedUsers: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          'Users allowed: stable ids (`oid`, `sub`: exact) or names the provider vouches for (`preferred_username`, `upn`, verified `email`: case-insensitive). Never `name`.',
      }),
    ),
    requiredGroups: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'User must be in one of these.',
      }),
    ),
    requiredRoles: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description: 'User must hold one of these roles.',
      }),
    ),
  },
  { additionalProperties: false },
);

const Authorization = strict(
  {
    ...Rule.properties,
    paths: Type.Array(
      Type.Object(
        {
          prefix: Type.String({ format: 'abs-path', description: 'Path prefix the rule applies to.' }),
          ...Rule.properties,
        },
        {
          additionalProperties: false,
          description: 'Extra rules for a path prefix (longest prefix applies).',
        },
      ),
      { default: [] },
    ),
  },
  'Who may use the application once signed in. A rule naming a claim the user lacks denies.',
);

const Logging = strict(
  {
    level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info', description: 'pino log level.' },
    ),
    pretty: Type.Boolean({ default: false, description: 'Human-readable logs (when stdout is a TTY).' }),
  },
  'JSON logs on stdout.',
);

const Metrics = strict(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve Prometheus metrics.' }),
    host: Type.String({ default: '0.0.0.0', description: 'Metrics listen address.' }),
    port: Type.Integer({
      default: 9464,
      minimum: 0,
      maximum: 65535,
      description: 'Metrics port (separate).',
    }),
    path: Path('Metrics path.', '/metrics'),
  },
  'Prometheus metrics on a separate port.',
);

export const ConfigSchema = Type.Object(
  {
    listen: Listen,
    publicUrl: HttpUrl('The URL users reach authward at (origin only); builds the redirect URI.'),
    trustProxy: Type.Union([Type.Boolean(), Type.Integer({ minimum: 1 }), Type.Array(Type.String())], {
      default: false,
      description: 'Trust X-Forwarded-* from: false, true (any), a hop count, or a list of addresses/CIDRs.',
    }),
    shutdownGraceSeconds: Seconds('On SIGTERM, how long in-flight requests may finish.', 10, 600),
    shutdownDelaySeconds: Type.Number({
      minimum: 0,
      maximum: 300,
      default: 0,
      description:
        'On SIGTERM, how long to keep serving while /readyz answers 503, so load balancers stop sending first.',
    }),
    health: Health,
    identity: Identity,
    session: Session,
    tokenCache: TokenCache,
    upstream: Upstream,
    routes: Type.Array(Route, { default: [], description: 'Downstream APIs that get a bearer token.' }),
    publicRoutes: Type.Array(PublicRoute, { default: [], description: 'Paths served without a session.' }),
    authorization: Authorization,
    logging: Logging,
    metrics: Metrics,
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type RouteConfig = Config['routes'][number];
export type IdentityConfig = Config['identity'];
export type SessionConfig = Config['session'];
export type TokenCacheConfig = Config['tokenCache'];
export type AuthorizationRule = Static<typeof Rule>;
export type SchemaObject = TObject;
