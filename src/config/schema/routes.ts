// routes and publicRoutes: downstream APIs that get a bearer token, and paths served without a session.
import { Type } from '@sinclair/typebox';
import { BodyLimit, HttpUrl, Methods, Seconds } from './fields.js';

export const Route = Type.Object(
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
    forwardAuth: Type.Boolean({
      default: false,
      description:
        'With forwardAuth.enabled: the verify endpoint hands this route’s token to the ingress (`Authorization: Bearer`) for requests it sends straight to `target`. Off: the ingress gets identity headers only.',
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

export const PublicRoute = Type.Object(
  {
    path: Type.String({ format: 'route-path', description: 'Exact path, or a prefix ending in `*`.' }),
    methods: Type.Optional(Methods),
  },
  { additionalProperties: false },
);
