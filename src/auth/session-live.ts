// The session-liveness rule, one place: within its absolute lifetime and its idle timeout.
import type { SessionData } from '../session/cookie.js';

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
