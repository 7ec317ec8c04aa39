// authward's own endpoints: /.auth/login(/aad), the callback, /.auth/logout, /.auth/me, /.auth/refresh (App Service conventions), provider-initiated logout.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JWTPayload } from 'jose';
import { derive } from '../config/derived.js';
import type { Config } from '../config/schema.js';
import { NotFoundError } from '../errors.js';
import { sendError } from '../responses.js';
import type { CookieNames } from '../session/cookie.js';
import type { SessionRecords } from '../session/records.js';
import type { Provider } from '../tokens/provider.js';
import type { TokenService } from '../tokens/token-service.js';
import { providerLoginRoute, refreshRoute } from './app-service.js';
import { backchannelLogoutRoute } from './backchannel-logout.js';
import { callbackRoute } from './callback.js';
import { sessionEnder } from './end-session.js';
import { frontchannelLogoutRoute } from './frontchannel-logout.js';
import { configuredScopes, loginParams } from './login-params.js';
import type { LoginTransactions } from './login-tx.js';
import { logoutRoute } from './logout.js';
import { LogoutReturn } from './logout-return.js';
import { meRoute } from './me.js';
import { providerSessionEnder } from './provider-logout.js';
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
  const { ownPrefix: prefix, origin } = derive(d.config);
  const endSession = sessionEnder(d.records, d.tokens);
  // Forms: the logout confirmation (empty) and a provider's back-channel logout (one logout token).
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16_384 },
    (_r, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const knownScopes = configuredScopes(d.config);
  const login = async (request: FastifyRequest, reply: FastifyReply) => {
    const { returnTo, ...extra } = loginParams(request.query as Record<string, unknown>, knownScopes);
    return d.flow.start(request, reply, returnTo, extra);
  };
  app.get(`${prefix}/login`, own, login);
  // App Service's per-provider login links (/.auth/login/aad): the same sign-in.
  app.get(`${prefix}/login/:provider`, own, providerLoginRoute(['aad', d.idp], login));

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

  const session = d.config.session;
  const accessScopes = d.config.upstream.tokens;
  const me = meRoute({
    records: d.records,
    tokens: d.tokens,
    idleTimeout: session.idleTimeout,
    providerName: d.idp,
    exposeTokens: session.exposeTokensToBrowser,
    accessScopes,
  });
  app.get(`${prefix}/me`, own, me);
  const scopes = accessScopes.length > 0 ? accessScopes : d.config.identity.scopes;
  const refresh = refreshRoute({ ...d, endSession, idleTimeout: session.idleTimeout, scopes });
  app.get(`${prefix}/refresh`, own, refresh);

  // Sign-out started at the provider (provider-logout.ts): each channel only when switched on.
  const end = providerSessionEnder(d.records, d.records.index, d.tokens);
  const { identity } = d.config;
  if (identity.backchannelLogout) {
    const handler = backchannelLogoutRoute({ identity, provider: d.provider, index: d.records.index, end });
    app.post(`${prefix}/backchannel-logout`, own, handler);
  }
  if (identity.frontchannelLogout) {
    const { handler, onSend } = frontchannelLogoutRoute({ provider: d.provider, end });
    app.get(`${prefix}/frontchannel-logout`, { ...own, onSend }, handler);
  }

  // Anything else under the prefix is ours, never the upstream's.
  app.all(`${prefix}/*`, own, async (request, reply) => sendError(request, reply, new NotFoundError()));
}
