// The authentication stage: /.auth endpoints, then a session check on every request that is not public.
//
// Rules enforced per request (in this order): authward's own endpoints and health answer without a
// session; publicRoutes (canonical path + method) pass without one; otherwise the cookie must decrypt,
// be within its absolute lifetime and idle timeout, and its server-side record must still exist (a
// sign-out anywhere revokes it); then the authorization rules for the path must allow the user; a
// WebSocket upgrade must come from publicUrl's origin (websockets.ts). A request that passes clears the
// sign-in loop counter (sign-in-loop.ts).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { JWTPayload } from 'jose';
import { derive } from '../config/derived.js';
import type { Config } from '../config/schema.js';
import { CrossOriginError, ForbiddenError } from '../errors.js';
import { sendError } from '../responses.js';
import type { CookieNames } from '../session/cookie.js';
import type { SessionRecords } from '../session/records.js';
import type { Provider } from '../tokens/provider.js';
import type { TokenService } from '../tokens/token-service.js';
import { authorizer } from './authorize.js';
import type { BearerVerifier } from './bearer.js';
import { BearerRefusal, bearerFirst, refuse } from './bearer-authenticator.js';
import { authEndpoints } from './endpoints.js';
import { LoginTransactions } from './login-tx.js';
import { ANONYMOUS, type ApiPrincipal, type UserPrincipal } from './principal.js';
import { publicMatcher } from './public-routes.js';
import { type Identify, sessionAuthenticator } from './session-authenticator.js';
import { type SignInFlow, signInFlow } from './sign-in.js';
import { SignInLoop } from './sign-in-loop.js';
import { LiveSockets } from './websockets.js';

declare module 'fastify' {
  interface FastifyInstance {
    signIn: SignInFlow;
    liveSockets: LiveSockets;
    /** Who is calling (the auth stage's authenticators), for endpoints that answer for another request. */
    identify: Identify;
  }
}

export interface AuthOptions {
  config: Config;
  provider: Provider;
  tokens: TokenService;
  records: SessionRecords;
  names: CookieNames;
  verifyIdToken: () => ((idToken: string, nonce: string) => Promise<JWTPayload>) | undefined;
  idp: string;
  /** The API clients' token check, once discovery has answered (apiClients.enabled). */
  bearerVerifier: () => BearerVerifier | undefined;
  /** Scopes consented at sign-in besides identity.scopes (routes' scopes in `signIn` mode). */
  extraScopes: string[];
}

async function auth(app: FastifyInstance, o: AuthOptions) {
  const { config } = o;
  const { origin, redirectUri, ownPrefix } = derive(config);
  const transactions = new LoginTransactions(app, o.names);
  const loop = new SignInLoop(app, o.names, origin);
  const sockets = new LiveSockets(o.records, config.session.revocationCheckInterval, app.log);
  app.addHook('onClose', async () => sockets.close());
  app.decorate('liveSockets', sockets);
  const flow = signInFlow({
    provider: o.provider,
    transactions,
    loop,
    origin,
    redirectUri,
    loginPath: `${ownPrefix}/login`,
    scopes: config.identity.scopes,
    extraScopes: o.extraScopes,
    allowedHosts: config.forwardAuth.allowedHosts,
  });
  app.decorate('signIn', flow);
  app.decorateRequest('principal', null);
  await app.register(authEndpoints, { ...o, transactions, flow, loop });

  const isPublic = publicMatcher(config.publicRoutes);
  const authorize = authorizer(config.authorization);

  /**
   * A proven caller (session or bearer token): the authorization rules for the path on its claims; a
   * browser's WebSocket upgrade must come from our origin and is kept with its session. Then on its way.
   */
  const admit = (request: FastifyRequest, reply: FastifyReply, p: UserPrincipal | ApiPrincipal) => {
    const api = p.kind === 'api';
    if (authorize && !authorize(api ? p.claims : p.record.record.claims, request.canonicalPath)) {
      request.log.info(
        { event: 'access_denied', client: api ? 'api' : 'browser', path: request.canonicalPath },
        'authorization rules deny',
      );
      sendError(request, reply, new ForbiddenError());
      return undefined;
    }
    if ((request.raw as { upgrade?: boolean }).upgrade === true) {
      // A bearer token is no cookie a browser sends cross-site: no origin check; kept until its exp.
      if (api) sockets.trackToken(p.tokenHash, p.exp + config.identity.clockSkew, request.raw.socket);
      else {
        const from = request.headers.origin;
        if (from !== undefined && from !== origin) {
          request.log.info({ event: 'access_denied', reason: 'cross-origin websocket' }, 'upgrade refused');
          return new CrossOriginError();
        }
        sockets.track(p.session.sid, p.session.exp, request.raw.socket);
      }
    }
    request.principal = p;
    if (!api) loop.clear(request, reply);
    return undefined;
  };

  // Who is calling: the authenticators in order, the first that proves someone wins (today the session
  // cookie; an API client's bearer token joins ahead of it, choosing requests by their Authorization
  // header). Decorated so the forward-auth endpoint asks exactly the same question.
  const session = sessionAuthenticator(o.records, config.session.idleTimeout);
  const identify: Identify = config.apiClients.enabled
    ? bearerFirst(config.apiClients.maxTokenBytes, o.bearerVerifier, session)
    : session;
  app.decorate('identify', identify);

  app.addHook('onRequest', (request, reply, done) => {
    request.principal = ANONYMOUS;
    if (request.route.kind === 'own') return done();
    if (isPublic(request.method, request.canonicalPath)) return done();
    identify(request, (err, user) => {
      if (err instanceof BearerRefusal) {
        refuse(request, reply, err);
        return done();
      }
      if (err) return done(err);
      if (user) return done(admit(request, reply, user));
      // No live session: sign in (a navigation) or 401.
      flow.unauthenticated(request, reply).then(() => done(), done);
    });
  });
}

/** Stage 5: reads the guard's canonical path and route, and the session cookie. */
export const authPlugin = fp(auth, {
  name: 'authward-auth',
  dependencies: ['authward-guard', 'authward-session'],
});
