// The session-cookie authenticator: who is calling, from the session cookie and its server-side record.
//
// Answers nothing itself: it resolves a user principal, or null when there is no live session, and the
// caller decides what "no session" means (the auth stage starts a sign-in or answers 401; the
// forward-auth endpoint answers its ingress). Both call this one function (through app.identify).
import type { FastifyRequest } from 'fastify';
import { signedIn } from '../session/cookie.js';
import type { SessionRecords } from '../session/records.js';
import type { ApiPrincipal, UserPrincipal } from './principal.js';
import { sessionIsLive } from './session-live.js';

/** Calls back with the caller's principal, null when no credential proves one (or an error). */
export type Identify = (
  request: FastifyRequest,
  cb: (err: Error | null, principal: UserPrincipal | ApiPrincipal | null) => void,
) => void;

/**
 * A live cookie whose record still exists is a user. A callback: a session whose record this replica
 * trusts (the common case) resolves without a promise; only a record to (re)load from the store waits.
 * A dead cookie is deleted; a used one is re-issued at most every idleTimeout/10 (the idle clock).
 */
export function sessionAuthenticator(records: SessionRecords, idleTimeout: number): Identify {
  const touchAfter = Math.max(1, Math.floor(idleTimeout / 10));
  return (request, cb) => {
    const s = signedIn(request.session);
    const t = Date.now() / 1000;
    if (!sessionIsLive(s, t, idleTimeout)) {
      if (s) request.session.delete();
      return cb(null, null);
    }
    const user = (record: UserPrincipal['record']): UserPrincipal => {
      if (t - s.seen > touchAfter) request.session.set('signedIn', { ...s, seen: Math.floor(t) });
      return { kind: 'user', session: s, record, account: s.acc };
    };
    const trusted = records.peek(s.sid);
    if (trusted) return cb(null, user(trusted));
    records.get(s.sid).then(
      (record) => {
        if (record) return cb(null, user(record));
        request.session.delete(); // signed out elsewhere, or expired
        cb(null, null);
      },
      (err: Error) => cb(err, null),
    );
  };
}
