// The forward-auth stage: `<pathPrefix>/verify`, where an ingress asks whether a request may pass.
//
// Rules enforced: only a peer trustProxy names is answered (403 otherwise: the headers describing the
// original request are believed from nobody else); a client's identity-family header is refused (403:
// the ingress cannot strip a family); the original URI goes through the same canonical-path rules, route
// table, publicRoutes, authenticators (app.identify) and authorization rules as in proxy mode. Answers:
// 200 with identity headers (and `Authorization: Bearer` for a routes[] entry with forwardAuth: the
// user's token, or an API client's on-behalf-of one); 401 without a credential (a navigation behind a
// redirecting ingress: 302 to sign-in, back to the original URL; behind nginx: a Location header for its
// `error_page 401` to follow); 403 when the rules deny. No body is read; every answer is no-store.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { authorizer } from '../auth/authorize.js';
import { BearerRefusal, refuse } from '../auth/bearer-authenticator.js';
import { identityOf, type Principal } from '../auth/principal.js';
import { publicMatcher } from '../auth/public-routes.js';
import { derive } from '../config/derived.js';
import {
  BadRequestError,
  ClientIdentityHeaderError,
  ForbiddenError,
  UnauthenticatedError,
  UntrustedPeerError,
} from '../errors.js';
import type { Parts } from '../parts.js';
import { canonicalPath } from '../proxy/canonical-path.js';
import { trustList } from '../proxy/forward-context.js';
import { clientIdentityHeader, INJECTED_HEADERS } from '../proxy/headers.js';
import { sendError, wantsHtml } from '../responses.js';
import type { RouteTable } from '../routing/table.js';
import { type Original, originalRequest } from './original.js';
import { routeTokens } from './route-token.js';

const NO_STORE = { 'cache-control': 'no-store' };
// Every header an ingress may copy, present (empty) when authward vouches for no value: an ingress that
// copies only headers present in the answer (caddy 2.6 sends a missing one as its placeholder text)
// then overwrites the client's copy with nothing, and never forwards one authward did not set.
const NOBODY: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(
    [...INJECTED_HEADERS.filter((h) => h !== 'x-ms-token-aad-access-token'), 'authorization'].map((h) => [
      h,
      '',
    ]),
  ),
);

async function forwardAuth(app: FastifyInstance, p: Parts) {
  const { config } = p;
  const { ownPrefix, origin } = derive(config);
  const verifyPath = `${ownPrefix}/verify`;
  const trusted = trustList(config.trustProxy as string[]); // a list: the config rules insist on it
  const isPublic = publicMatcher(config.publicRoutes);
  const authorize = authorizer(config.authorization);
  const table: RouteTable = p.table;
  const tokenFor = routeTokens(p);
  const defaultProto = new URL(origin).protocol.slice(0, -1);

  /** Where a browser signs in to come back to the original URL (on this host: just the path). */
  const signInUrl = (o: Original) => {
    const here = `${o.proto}://${o.host}`;
    const back = here === origin ? o.uri : `${here}${o.uri}`;
    return `${origin}${ownPrefix}/login?${new URLSearchParams({ post_login_redirect_uri: back })}`;
  };

  const unauthenticated = (request: FastifyRequest, reply: FastifyReply, o: Original) => {
    const navigation = (o.method === 'GET' || o.method === 'HEAD') && wantsHtml(request);
    if (navigation && o.form === 'redirect') {
      return reply.code(302).headers(NO_STORE).header('location', signInUrl(o)).send();
    }
    if (navigation) reply.header('location', signInUrl(o)); // nginx: `return 302 $aw_signin` in @signin
    return sendError(request, reply, new UnauthenticatedError(), { loginUrl: signInUrl(o) });
  };

  const answer = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    reply.headers(NO_STORE);
    const peer = request.raw.socket.remoteAddress;
    if (peer === undefined || !trusted(peer)) {
      request.log.info({ event: 'access_denied', reason: 'untrusted forward-auth peer' }, 'verify refused');
      sendError(request, reply, new UntrustedPeerError());
      return done();
    }
    // The ingress overwrites only the identity headers its config copies: a client's copy of any other
    // (X-MS-CLIENT-PRINCIPAL-GROUPS, X-MS-TOKEN-*) would reach the backend. Refused, public path or not.
    const spoofed = clientIdentityHeader(request.headers);
    if (spoofed !== undefined) {
      request.log.info(
        { event: 'access_denied', reason: 'client identity header', header: spoofed },
        'verify refused',
      );
      sendError(request, reply, new ClientIdentityHeaderError(spoofed));
      return done();
    }
    const o = originalRequest(request, verifyPath, defaultProto);
    if (typeof o === 'string') {
      sendError(request, reply, new BadRequestError(o));
      return done();
    }
    const canonical = canonicalPath(o.uri);
    if ('error' in canonical) {
      sendError(request, reply, new BadRequestError(canonical.error));
      return done();
    }
    const path = canonical.path;
    const route = table.decide(o.method, path);
    // authward's own endpoints and publicRoutes: pass, vouching for nobody (as in proxy mode).
    if (route.kind === 'own' || isPublic(o.method, path)) {
      reply.code(200).headers(NOBODY).send();
      return done();
    }
    app.identify(request, (err, who) => {
      if (err instanceof BearerRefusal) {
        refuse(request, reply, err); // 401 invalid_token (nginx hands its WWW-Authenticate on)
        return done();
      }
      if (err) {
        reply.send(err);
        return done();
      }
      if (!who) {
        unauthenticated(request, reply, o);
        return done();
      }
      if (authorize && !authorize(claimsOf(who), path)) {
        request.log.info({ event: 'access_denied', path }, 'authorization rules deny');
        sendError(request, reply, new ForbiddenError());
        return done();
      }
      reply.headers(NOBODY).headers(identityOf(who) ?? {});
      if (route.kind !== 'route' || !route.config.forwardAuth) {
        reply.code(200).send();
        return done();
      }
      tokenFor(route.config, who, request, reply, o, signInUrl).then(done, (e: Error) => {
        reply.send(e);
        done();
      });
    });
  };

  // A route hook answers before any body would be read; the handler is never reached.
  const opts = {
    config: { public: true },
    onRequest: (request: FastifyRequest, reply: FastifyReply, done: () => void) =>
      answer(request, reply, done),
  };
  const never = async () => undefined;
  app.all(verifyPath, opts, never);
  app.all(`${verifyPath}/*`, opts, never); // Envoy ext_authz: the original path appended
}

const claimsOf = (who: Exclude<Principal, { kind: 'anonymous' }>) =>
  who.kind === 'user' ? who.record.record.claims : who.claims;

/** Stage 7 (forwardAuth.enabled): after the authenticators it reuses, before the proxy stages. */
export const forwardAuthStage = fp(forwardAuth, {
  name: 'authward-forward-auth',
  dependencies: ['authward-guard', 'authward-auth'],
});
