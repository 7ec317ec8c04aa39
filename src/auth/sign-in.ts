// Starting a sign-in and answering requests that have no (valid) session: 302 for browsers, 401 JSON otherwise.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InteractionRequiredError, ProviderUnavailableError, UnauthenticatedError } from '../errors.js';
import { OWN_PAGE_HEADERS, sendError, wantsHtml } from '../responses.js';
import type { Provider } from '../tokens/provider.js';
import { HostTrap } from './host-trap.js';
import { checkClaims } from './login-params.js';
import type { LoginTransactions } from './login-tx.js';
import { safeReturnTo } from './return-to.js';
import type { SignInLoop } from './sign-in-loop.js';

export interface SignInOptions {
  provider: Provider;
  transactions: LoginTransactions;
  loop: SignInLoop;
  origin: string;
  redirectUri: string;
  loginPath: string;
  /** Scopes asked at every sign-in, and those consented up front (routes' scopes in `signIn` mode). */
  scopes: string[];
  extraScopes: string[];
  /** Other hosts a sign-in may return to (forwardAuth.allowedHosts; return-to.ts). */
  allowedHosts?: readonly string[];
}

export function signInFlow(o: SignInOptions) {
  const trap = new HostTrap(o.origin);

  /** Redirects the browser to the provider; the transaction cookie binds the callback to it. */
  async function start(
    request: FastifyRequest,
    reply: FastifyReply,
    returnTo: string,
    extra: { scopes?: string[]; claims?: string } = {},
  ) {
    // Before any cookie is set: on another name for this server the sign-in could never finish.
    if (trap.caught(request, reply) || o.loop.stop(request, reply)) return reply;
    if (!o.provider.ready) throw new ProviderUnavailableError();
    // Also here, not only at /.auth/login: a navigation that meets a claims challenge starts directly.
    if (extra.claims) checkClaims(extra.claims);
    const verifier = randomBytes(32).toString('base64url');
    const scopes = extra.scopes ?? [];
    const tx = o.transactions.begin(request, reply, {
      verifier,
      returnTo: safeReturnTo(returnTo, o.origin, o.allowedHosts), // shortened to fit the cookie there
      scopes,
      ...(extra.claims ? { claims: extra.claims } : {}),
    });
    const url = await o.provider.authCodeUrl({
      scopes: o.scopes,
      extraScopes: [...new Set([...o.extraScopes, ...scopes])],
      redirectUri: o.redirectUri,
      state: tx.state,
      nonce: tx.nonce,
      codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
      claims: extra.claims,
    });
    return reply.code(302).headers(OWN_PAGE_HEADERS).header('location', url).send();
  }

  /** Same-origin URL that starts a sign-in returning to `returnTo`. */
  const loginUrl = (returnTo: string, extra: Record<string, string> = {}) =>
    `${o.loginPath}?${new URLSearchParams({ post_login_redirect_uri: returnTo, ...extra })}`;

  /** No session: browser navigations sign in; everything else (XHR, fetch, non-GET) gets 401 JSON. */
  async function unauthenticated(request: FastifyRequest, reply: FastifyReply) {
    if (trap.caught(request, reply)) return reply; // a 401 would send the caller to sign in on the wrong host
    const isNavigation = (request.method === 'GET' || request.method === 'HEAD') && wantsHtml(request);
    if (isNavigation) return start(request, reply, request.url);
    return sendError(request, reply, new UnauthenticatedError(), {
      loginUrl: loginUrl(safeReturnTo(request.url, o.origin)),
    });
  }

  /** A route needs consent (or a claims challenge): navigate to sign-in for exactly that, or 401 JSON. */
  async function interactionRequired(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: { scopes: string[]; claims?: string },
  ) {
    const isNavigation = (request.method === 'GET' || request.method === 'HEAD') && wantsHtml(request);
    if (isNavigation) return start(request, reply, request.url, extra);
    const params: Record<string, string> = { scopes: extra.scopes.join(' ') };
    if (extra.claims) params.claims = extra.claims;
    return sendError(request, reply, new InteractionRequiredError(), {
      loginUrl: loginUrl(safeReturnTo(request.url, o.origin), params),
      ...(extra.claims ? { claims: extra.claims } : {}),
    });
  }

  return { start, unauthenticated, interactionRequired, loginUrl };
}

export type SignInFlow = ReturnType<typeof signInFlow>;
