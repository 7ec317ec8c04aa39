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
import type { CookieNames, SessionData } from '../session/cookie.js';
import type { CachedRecord, SessionRecords } from '../session/records.js';
import type { Provider } from '../tokens/provider.js';
import type { TokenService } from '../tokens/token-service.js';
import { authorizer } from './authorize.js';
import { authEndpoints } from './endpoints.js';
import { LoginTransactions } from './login-tx.js';
import { ANONYMOUS } from './principal.js';
import { publicMatcher } from './public-routes.js';
import { sessionIsLive } from './session-live.js';
import { type SignInFlow, signInFlow } from './sign-in.js';
import { SignInLoop } from './sign-in-loop.js';
import { LiveSockets } from './websockets.js';

declare module 'fastify' {
  interface FastifyInstance {
    signIn: SignInFlow;
    liveSockets: LiveSockets;
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
  /** Scopes consented at sign-in besides identity.scopes (routes' scopes in `signIn` mode). */
  extraScopes: string[];
}

async function auth(app: FastifyInstance, o: AuthOptions) {
  const { config } = o;
  const { origin, redirectUri, ownPrefix } = derive(config);
  const transactions = new LoginTransactions(app, o.names);
  const loop = new SignInLoop(app, o.names, config.publicUrl);
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
  });
  app.decorate('signIn', flow);
  app.decorateRequest('principal', null);
  await app.register(authEndpoints, { ...o, transactions, flow, loop });

  const isPublic = publicMatcher(config.publicRoutes);
  const authorize = authorizer(config.authorization);
  const idle = config.session.idleTimeout;
  const touchAfter = Math.max(1, Math.floor(idle / 10)); // re-issue the cookie at most this often

  /** A signed-in request with its record: authorization, WebSocket origin, then on its way. */
  const admit = (
    request: FastifyRequest,
    reply: FastifyReply,
    s: SessionData,
    record: CachedRecord,
    t: number,
  ): Error | undefined => {
    if (authorize && !authorize(record.record.c, request.canonicalPath)) {
      request.log.info({ event: 'access_denied', path: request.canonicalPath }, 'authorization rules deny');
      sendError(request, reply, new ForbiddenError());
      return undefined;
    }
    if ((request.raw as { upgrade?: boolean }).upgrade === true) {
      const from = request.headers.origin;
      if (from !== undefined && from !== origin) {
        request.log.info({ event: 'access_denied', reason: 'cross-origin websocket' }, 'upgrade refused');
        return new CrossOriginError();
      }
      sockets.track(s.sid, s.exp, request.raw.socket);
    }
    request.principal = { kind: 'user', session: s, record, account: s.acc };
    loop.clear(request, reply);
    if (t - s.seen > touchAfter) request.session.set('d', { ...s, seen: Math.floor(t) });
    return undefined;
  };
  const signIn = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    flow.unauthenticated(request, reply).then(() => done(), done);
  };

  /**
   * The session-cookie authenticator: a live cookie whose record still exists is a user. A callback: a
   * session whose record this replica trusts (the common case) passes without a promise; only a record
   * to (re)load from the store waits. No live session: sign in (a navigation) or 401.
   */
  const sessionCookie: Authenticator = (request, reply, done) => {
    const s = request.session.get('d');
    const t = Date.now() / 1000;
    if (!sessionIsLive(s, t, idle)) {
      if (s) request.session.delete();
      return signIn(request, reply, done);
    }
    const trusted = o.records.peek(s.sid);
    if (trusted) return done(admit(request, reply, s, trusted, t));
    o.records
      .get(s.sid)
      .then((record) => {
        if (record) return admit(request, reply, s, record, t);
        request.session.delete(); // signed out elsewhere, or expired
        return flow.unauthenticated(request, reply).then(() => undefined);
      })
      .then(done, done);
  };
  // Who is calling, in order: the first authenticator resolves request.principal or answers. (An API
  // client's bearer token joins ahead of the cookie, choosing requests by their Authorization header.)
  const authenticate = sessionCookie;

  app.addHook('onRequest', (request, reply, done) => {
    request.principal = ANONYMOUS;
    if (request.route.kind === 'own') return done();
    if (isPublic(request.method, request.canonicalPath)) return done();
    authenticate(request, reply, done);
  });
}

/** Resolves request.principal and calls done, or answers the request itself (sign-in, 401, 403). */
type Authenticator = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;

/** Stage 5: reads the guard's canonical path and route, and the session cookie. */
export const authPlugin = fp(auth, {
  name: 'authward-auth',
  dependencies: ['authward-guard', 'authward-session'],
});
