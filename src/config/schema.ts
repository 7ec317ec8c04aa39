// The configuration schema: the single source of truth for keys, types, defaults and the README reference.
// Each section lives in schema/<section>.ts; this file assembles them in the order the reference lists.
import { type Static, type TObject, Type } from '@sinclair/typebox';
import { ApiClients } from './schema/api-clients.js';
import { Authorization, type Rule } from './schema/authorization.js';
import { HttpUrl, Seconds } from './schema/fields.js';
import { ForwardAuth } from './schema/forward-auth.js';
import { Identity } from './schema/identity.js';
import { Pages } from './schema/pages.js';
import { PublicRoute, Route } from './schema/routes.js';
import { Health, Listen, Logging, Metrics } from './schema/server.js';
import { Session } from './schema/session.js';
import { TokenCache } from './schema/token-cache.js';
import { Upstream } from './schema/upstream.js';

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
    pages: Pages,
    identity: Identity,
    session: Session,
    tokenCache: TokenCache,
    upstream: Upstream,
    routes: Type.Array(Route, { default: [], description: 'Downstream APIs that get a bearer token.' }),
    publicRoutes: Type.Array(PublicRoute, { default: [], description: 'Paths served without a session.' }),
    authorization: Authorization,
    forwardAuth: ForwardAuth,
    apiClients: ApiClients,
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
