// authward's own endpoints: /.auth/login, the callback, /.auth/logout, /.auth/me (App Service conventions).
import type { FastifyInstance } from 'fastify';
import type { JWTPayload } from 'jose';
import type { Config } from '../config/schema.js';
import { NotFoundError } from '../errors.js';
import { sendError } from '../responses.js';
import type { CookieNames } from '../session/cookie.js';
import type { SessionRecords } from '../session/records.js';
import type { Provider } from '../tokens/provider.js';
import type { TokenService } from '../tokens/token-service.js';
import { callbackRoute } from './callback.js';
import { sessionEnder } from './end-session.js';
import { configuredScopes, loginParams } from './login-params.js';
import type { LoginTransactions } from './login-tx.js';
import { logoutRoute } from './logout.js';
import { LogoutReturn } from './logout-return.js';
import { meRoute } from './me.js';
import type { SignInFlow } from './sign-in.js';
import type { SignInLoop } from './sign-in-loop.js';

export interface EndpointDeps {
  config: Config;
  provider: Provider;
  tokens: TokenService;
  records: SessionRecords;
  transactions: LoginTransactions;
  names: CookieNames;
  flow: SignInFlow;
  loop: SignInLoop;
  verifyIdToken: () => ((idToken: string, nonce: string) => Promise<JWTPayload>) | undefined;
  idp: string;
}

const own = { config: { public: true } };

export async function authEndpoints(app: FastifyInstance, d: EndpointDeps) {
  const prefix = d.config.identity.pathPrefix.replace(/\/+$/, '');
  const origin = new URL(d.config.publicUrl).origin;
  const endSession = sessionEnder(d.records, d.tokens);
  // The logout confirmation form posts an empty form body.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 4096 },
    (_r, _b, done) => done(null, {}),
  );

  const knownScopes = configuredScopes(d.config);
  app.get(`${prefix}/login`, own, async (request, reply) => {
    const { returnTo, ...extra } = loginParams(request.query as Record<string, unknown>, knownScopes);
    return d.flow.start(request, reply, returnTo, extra);
  });

  app.get(d.config.identity.callbackPath, own, callbackRoute(app, { ...d, endSession }));

  // The provider always comes back to one URL; the target waits in a cookie (logout-return.ts).
  const logoutReturn = new LogoutReturn(app, d.names, origin);
  const logout = logoutRoute({
    origin,
    clientId: d.config.identity.clientId,
    provider: d.provider,
    endSession,
    logoutReturn,
    completeUrl: new URL(`${prefix}/logout/complete`, origin).href,
  });
  app.get(`${prefix}/logout`, own, logout);
  app.post(`${prefix}/logout`, own, logout);
  app.get(`${prefix}/logout/complete`, own, async (request, reply) => logoutReturn.complete(request, reply));

  app.get(`${prefix}/me`, own, meRoute(d.records, d.config.session.idleTimeout, d.idp));

  // Anything else under the prefix is ours, never the upstream's.
  app.all(`${prefix}/*`, own, async (request, reply) => sendError(request, reply, new NotFoundError()));
}
