// /.auth/logout (GET and POST): ends the session here, then at the provider if it offers an end-session endpoint.
//
// Rules: a GET from another site (or with no same-origin evidence) gets a confirmation page, never a
// sign-out (a cross-site link or image must not sign users out); a POST must be same-origin, or carry no
// Origin, Referer or Sec-Fetch-Site at all (an old client); the return target is same-origin only.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CrossSiteSignOutError } from '../errors.js';
import { escapeHtml, OWN_PAGE_HEADERS, sendError } from '../responses.js';
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
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const target = safeReturnTo(stringParam(request, 'post_logout_redirect_uri') ?? '/', d.origin);
    const site = request.headers['sec-fetch-site'];
    const sameOrigin =
      site === 'same-origin' ||
      (site === undefined && (request.headers.origin === d.origin || refererIsOwn(request, d.origin)));
    if (request.method === 'GET' && !(sameOrigin || site === 'none'))
      return confirmLogout(reply, request.url);
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

function confirmLogout(reply: FastifyReply, url: string) {
  return reply
    .code(200)
    .headers(OWN_PAGE_HEADERS)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>Sign out</title></head><body><form method="post" action="${escapeHtml(url)}"><p>Sign out?</p><button type="submit">Sign out</button></form></body></html>\n`,
    );
}
