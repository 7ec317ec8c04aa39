// /.auth/logout (GET and POST): ends the session here, then at the provider if it offers an end-session endpoint.
//
// Rules: a GET from another site (or with no same-origin evidence) gets a confirmation page, never a
// sign-out (a cross-site link or image must not sign users out); a POST must be same-origin, or carry no
// Origin, Referer or Sec-Fetch-Site at all (an old client); the return target is same-origin only, and
// without one the sign-out ends on the signed-out page (/.auth/logout/complete), not on the app's root
// (which would start the next sign-in at once).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CrossSiteSignOutError } from '../errors.js';
import { OWN_PAGE_HEADERS, sendError } from '../responses.js';
import type { Provider } from '../tokens/provider.js';
import type { EndSession } from './end-session.js';
import type { LogoutReturn } from './logout-return.js';
import { safeReturnTo } from './return-to.js';

export interface LogoutDeps {
  origin: string;
  clientId: string;
  provider: Provider;
  endSession: EndSession;
  logoutReturn: LogoutReturn;
  /** Where the provider sends the browser back (logout-return.ts picks the real target up there). */
  completeUrl: string;
}

export function logoutRoute(d: LogoutDeps) {
  const signedOutPage = new URL(d.completeUrl).pathname;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const asked = stringParam(request, 'post_logout_redirect_uri');
    const target = asked === undefined ? signedOutPage : safeReturnTo(asked, d.origin);
    const site = request.headers['sec-fetch-site'];
    const sameOrigin =
      site === 'same-origin' ||
      (site === undefined && (request.headers.origin === d.origin || refererIsOwn(request, d.origin)));
    if (request.method === 'GET' && !(sameOrigin || site === 'none')) return confirmLogout(request, reply);
    if (
      request.method === 'POST' &&
      !sameOrigin &&
      !(site === undefined && request.headers.origin === undefined && !request.headers.referer)
    ) {
      return sendError(request, reply, new CrossSiteSignOutError());
    }
    const hint = await d.endSession(request);
    const end = d.provider.discovery?.end_session_endpoint;
    let location = target;
    if (end) {
      const u = new URL(end);
      u.searchParams.set('post_logout_redirect_uri', d.completeUrl);
      u.searchParams.set('state', d.logoutReturn.begin(reply, target));
      u.searchParams.set('client_id', d.clientId);
      if (hint) u.searchParams.set('id_token_hint', hint);
      location = u.href;
    }
    request.log.info({ event: 'sign_out' }, 'signed out');
    return reply.code(302).headers(OWN_PAGE_HEADERS).header('location', location).send();
  };
}

function stringParam(request: FastifyRequest, name: string): string | undefined {
  const v = (request.query as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

function refererIsOwn(request: FastifyRequest, origin: string): boolean {
  const ref = request.headers.referer;
  return typeof ref === 'string' && (ref === origin || ref.startsWith(`${origin}/`));
}

/** Names the app, says why it asks, and offers a way out that keeps the session. */
function confirmLogout(request: FastifyRequest, reply: FastifyReply) {
  const pages = request.server.pages;
  const page = {
    status: 200,
    title: `Sign out of ${pages.appName}?`,
    paragraphs: [
      `A link or another website asked to sign you out of ${pages.appName}. If you did not mean to, cancel: you stay signed in.`,
    ],
    actions: [
      { label: 'Sign out', href: request.url, post: true },
      { label: 'Cancel', href: '/' },
    ],
  };
  return pages.send(reply, page, request.id);
}
