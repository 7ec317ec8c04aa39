// Stage 7, the default upstream: everything no earlier stage answered, with identity headers (and
// upstream.tokens as X-MS-TOKEN-AAD-ACCESS-TOKEN and the other App Service token headers when configured),
// WebSockets included.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { identityOf } from '../auth/principal.js';
import type { Config } from '../config/schema.js';
import { UPSTREAM_ROUTE } from '../routing/table.js';
import type { CookieNames } from '../session/cookie.js';
import type { SessionRecords } from '../session/records.js';
import type { OnBehalfOf } from '../tokens/obo.js';
import type { TokenService } from '../tokens/token-service.js';
import { appServiceTokenHeaders, chain, forUsersOnly } from './app-service-headers.js';
import { forwardPlugin } from './forward.js';
import { forwardContext } from './forward-context.js';
import type { InjectedHeader } from './headers.js';
import { tokenPreHandler } from './token-routes.js';

/** App Service's name for the access token (upstream.tokens), typed against the strip list. */
const TOKEN_HEADER: InjectedHeader = 'x-ms-token-aad-access-token';

export interface UpstreamDeps {
  config: Config;
  tokens: TokenService;
  records: SessionRecords;
  names: CookieNames;
  /** upstream.tokens on behalf of API clients' users (apiClients.enabled). */
  obo: OnBehalfOf | null;
}

async function defaultUpstream(app: FastifyInstance, d: UpstreamDeps) {
  const upstream = d.config.upstream;
  const preHandler = chain(
    forUsersOnly(
      upstream.tokens.length > 0
        ? tokenPreHandler(app, d, upstream.tokens, 'user', (token) => ({ [TOKEN_HEADER]: token }))
        : undefined,
    ),
    appServiceTokenHeaders(d.tokens, upstream, d.obo),
  );
  await app.register(forwardPlugin, {
    mount: '',
    target: upstream.url,
    timeoutSeconds: upstream.timeout,
    caFile: upstream.caFile,
    websocket: true,
    ownCookie: d.names.isOwn,
    routeConfig: { decision: UPSTREAM_ROUTE, bodyLimit: upstream.bodyLimit },
    ...(preHandler ? { preHandler } : {}),
    context: (request) => {
      const p = request.principal;
      // A WebSocket handshake carries none of the client's headers but its cookies: an API client's
      // own token (its Authorization on any other request) is added here so the upstream sees it too.
      const own =
        p?.kind === 'api' && (request.raw as { upgrade?: boolean }).upgrade === true
          ? { authorization: `Bearer ${p.token}` }
          : undefined;
      const extra = own || request.tokenHeaders ? { ...request.tokenHeaders, ...own } : undefined;
      return forwardContext(request, d.names, extra ? { ...identityOf(p), ...extra } : identityOf(p));
    },
  });
}

export const upstreamStage = fp(defaultUpstream, {
  name: 'authward-upstream',
  dependencies: ['authward-token-routes'],
});
