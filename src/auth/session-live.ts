// The session-liveness rule, one place: within its absolute lifetime and its idle timeout.
import type { FastifyRequest } from 'fastify';
import { type SessionData, signedIn } from '../session/cookie.js';
import type { CachedRecord, SessionRecords } from '../session/records.js';

/**
 * True when the session cookie's contents are still live at `now` (epoch seconds, fractional): not past
 * `exp`, and seen within `idleTimeout` seconds. The server-side record is checked separately (revocation).
 */
export function sessionIsLive(
  session: SessionData | undefined,
  now: number,
  idleTimeout: number,
): session is SessionData {
  return session !== undefined && session.exp > now && now - session.seen <= idleTimeout;
}

/**
 * For own endpoints, which skip the auth stage: this request's live session and its record (null when
 * there is none, it is past its times, or it was signed out anywhere).
 */
export async function liveSession(
  request: FastifyRequest,
  records: SessionRecords,
  idleTimeout: number,
): Promise<{ session: SessionData; record: CachedRecord } | null> {
  const session = signedIn(request.session);
  if (!sessionIsLive(session, Date.now() / 1000, idleTimeout)) return null;
  const record = await records.get(session.sid);
  return record && { session, record };
}
