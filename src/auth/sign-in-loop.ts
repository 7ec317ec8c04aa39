// The sign-in loop breaker: a browser sent back to sign in again right after each sign-in gets a page
// that names the likely cause, instead of bouncing between authward and the provider forever.
//
// Counted in a small sealed cookie (`<session.cookieName>-loop`, LOOP_WINDOW seconds): each successful
// callback adds one, and any request that arrives with a valid session clears it. Once LOOP_LIMIT
// callbacks happened within LOOP_WINDOW seconds without the session ever coming back, the next sign-in is
// not started: 508 and an explanation. The cookie is deliberately neither Secure nor `__Host-`: the
// commonest loop is a session cookie the browser will not send (publicUrl is https, the browser is on
// http), and this cookie must survive exactly that. It holds only a count and a time.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SignInLoopError } from '../errors.js';
import { sendError } from '../responses.js';
import type { CookieNames } from '../session/cookie.js';

export const LOOP_LIMIT = 3;
export const LOOP_WINDOW = 60;

/** Named `{n, t}` before issue 13: such a cookie now fails the shape check and counts as absent. */
interface LoopState {
  /** Successful callbacks in this streak, and when the streak started (epoch seconds). */
  count: number;
  startedAt: number;
}

declare module '@fastify/secure-session' {
  interface SessionData {
    loop: LoopState;
  }
}

export class SignInLoop {
  /** `origin`: publicUrl's (derive(config).origin), named in the page when the browser came elsewhere. */
  constructor(
    private readonly app: FastifyInstance,
    private readonly names: CookieNames,
    private readonly origin: string,
  ) {}

  /** A callback just signed the browser in. */
  signedIn(request: FastifyRequest, reply: FastifyReply): void {
    const now = Math.floor(Date.now() / 1000);
    const prev = this.read(request);
    const state: LoopState =
      prev && now - prev.startedAt < LOOP_WINDOW
        ? { count: prev.count + 1, startedAt: prev.startedAt }
        : { count: 1, startedAt: now };
    const value = this.app.encodeSecureSession(this.app.createSecureSession({ loop: state }));
    reply.setCookie(this.names.loop, value, this.options(LOOP_WINDOW));
  }

  /** The session came back: the last sign-in worked. Costs nothing unless the cookie is there. */
  clear(request: FastifyRequest, reply: FastifyReply): void {
    if (request.cookies?.[this.names.loop] !== undefined)
      reply.setCookie(this.names.loop, '', this.options(0));
  }

  /** When a new sign-in would be one too many: answers the explanation page and returns true. */
  stop(request: FastifyRequest, reply: FastifyReply): boolean {
    const state = this.read(request);
    const now = Math.floor(Date.now() / 1000);
    if (!state || state.count < LOOP_LIMIT || now - state.startedAt >= LOOP_WINDOW) return false;
    const seen = `${request.protocol}://${request.host}`;
    request.log.warn({ event: 'sign_in_loop', signIns: state.count, seen }, 'sign-in loop stopped');
    const hints = [
      `This browser signed in ${state.count} times in the last ${LOOP_WINDOW} seconds, and each time came back without its session cookie.`,
    ];
    if (seen !== this.origin) {
      hints.push(
        `It reached authward at ${seen}, but publicUrl is ${this.origin}: the session cookie belongs to ${this.origin}${this.names.secure ? ' and is sent over https only' : ''}. Open ${this.origin} instead, or correct publicUrl (behind a TLS-terminating proxy, set trustProxy so the original scheme and host are seen).`,
      );
    }
    hints.push(
      'Other causes: several authward replicas with tokenCache.type memory (each knows only its own sessions) or with different session.keys; a browser or proxy that drops cookies.',
      `Wait ${LOOP_WINDOW} seconds before trying again.`,
    );
    sendError(request, reply, new SignInLoopError(), {}, hints);
    return true;
  }

  private read(request: FastifyRequest): LoopState | null {
    const value = request.cookies?.[this.names.loop];
    if (!value) return null;
    const state = this.app.decodeSecureSession(value)?.get('loop');
    return state && Number.isInteger(state.count) && Number.isInteger(state.startedAt) ? state : null;
  }

  private options(maxAge: number) {
    return { path: '/', httpOnly: true, sameSite: 'lax' as const, maxAge };
  }
}
