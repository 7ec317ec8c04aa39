// The way back from the provider's sign-out: a random `state` on the end-session request, checked at
// /.auth/logout/complete, which then sends the browser to the target sealed at sign-out.
//
// Why: some providers honour post_logout_redirect_uri only when `state` is present (it is optional in
// RP-Initiated Logout 1.0). So the provider is always told one fixed URL, <publicUrl>/.auth/logout/complete
// (the App Service path: one URL to register), and the target lives in a sealed 10-minute cookie
// (`<session>-logout`) with the state. Rules at the return: a state that does not equal the sealed one
// is not trusted (the signed-out page, no redirect); no state (a provider that does not echo it): the
// sealed target; no pending sign-out (another browser, used once, expired): the signed-out page. The
// target is only ever the sealed one, re-checked as a same-origin path: the query chooses nothing.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { OWN_PAGE_HEADERS } from '../responses.js';
import { type CookieNames, encodeSealed } from '../session/cookie.js';
import { safeReturnTo } from './return-to.js';

const TTL = 600;
/** name=value: a long target keeps only its path (then "/"), so this cookie stays small too. */
const MAX_COOKIE = 1000;

interface PendingLogout {
  state: string;
  to: string;
  /** Epoch milliseconds. Named `t` before issue 13: such a cookie is now never fresh (no return, the page). */
  startedAt: number;
}

declare module '@fastify/secure-session' {
  interface SessionData {
    lo: PendingLogout;
  }
}

export class LogoutReturn {
  constructor(
    private readonly app: FastifyInstance,
    private readonly names: CookieNames,
    private readonly origin: string,
  ) {}

  /** Remembers where to go after the provider's sign-out; returns the state for the end-session request. */
  begin(reply: FastifyReply, target: string): string {
    const state = randomBytes(32).toString('base64url');
    const path = target.replace(/[?#][\s\S]*$/, '');
    for (const to of new Set([target, path, '/'])) {
      const pending: PendingLogout = { state, to, startedAt: Date.now() };
      const value = this.app.encodeSecureSession(this.app.createSecureSession({ lo: pending }));
      if (this.names.logout.length + 1 + encodeSealed(value).length > MAX_COOKIE && to !== '/') continue;
      reply.setCookie(this.names.logout, value, this.options(TTL));
      break;
    }
    return state;
  }

  /** /.auth/logout/complete: on to the sealed target, or the signed-out page. */
  complete(request: FastifyRequest, reply: FastifyReply) {
    const value = request.cookies?.[this.names.logout];
    if (value !== undefined) reply.setCookie(this.names.logout, '', this.options(0)); // used once
    const pending = value ? this.app.decodeSecureSession(value)?.get('lo') : undefined;
    const state = (request.query as Record<string, unknown>).state;
    const fresh = pending && Date.now() - pending.startedAt <= TTL * 1000;
    const trusted =
      fresh && (state === undefined || (typeof state === 'string' && same(state, pending.state)));
    // A sign-out without a target of its own ends here (on this page), not one redirect later.
    const target = trusted ? safeReturnTo(pending.to, this.origin) : undefined;
    if (target !== undefined && target !== new URL(request.url, this.origin).pathname) {
      return reply.code(302).headers(OWN_PAGE_HEADERS).header('location', target).send();
    }
    if (pending && !trusted && state !== undefined)
      request.log.info({ event: 'sign_out_return', reason: 'state mismatch' }, 'sign-out return not trusted');
    return signedOutPage(request, reply);
  }

  private options(maxAge: number) {
    const secure = this.names.secure;
    return { path: '/', httpOnly: true, secure, sameSite: 'lax' as const, maxAge, encode: encodeSealed };
  }
}

/** "You are signed out", and the way back in. */
function signedOutPage(request: FastifyRequest, reply: FastifyReply) {
  const pages = request.server.pages;
  const page = {
    status: 200,
    title: 'You are signed out',
    paragraphs: [
      `You have signed out of ${pages.appName}. To use it again, sign in.`,
      'On a shared computer, also close the browser: the sign-in service may still remember you.',
    ],
    actions: [{ label: 'Sign in again', href: pages.signInUrl('/') }],
  };
  return pages.send(reply, page, request.id);
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
