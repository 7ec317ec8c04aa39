// Ending a browser's session everywhere: its server-side record, its token cache partition, its cookie.
import type { FastifyRequest } from 'fastify';
import { signedIn } from '../session/cookie.js';
import type { SessionRecords } from '../session/records.js';
import type { TokenService } from '../tokens/token-service.js';

export type EndSession = (
  request: FastifyRequest,
  clearCookie?: boolean,
  keepAccount?: string,
) => Promise<string | undefined>;

/**
 * Signs the browser's session out everywhere: record, token cache (unless it is `keepAccount`'s),
 * cookie. Returns the ID token hint. A store that is down is logged; the session is then refused here
 * (its cookie is gone) and its record deleted when the store is back.
 */
export function sessionEnder(records: SessionRecords, tokens: TokenService): EndSession {
  return async (request, clearCookie = true, keepAccount) => {
    const s = signedIn(request.session);
    if (clearCookie) request.session.delete(); // (the callback overwrites it instead: delete() cannot be undone)
    if (!s) return undefined;
    let hint: string | undefined;
    try {
      hint = await records.idTokenHint(s.sid);
    } catch {
      /* store down: revoke what we can below */
    }
    const account = s.acc.homeAccountId;
    const settled = await Promise.allSettled([
      records.delete(s.sid),
      account === keepAccount ? undefined : tokens.removeAccount(account),
    ]);
    if (settled.some((x) => x.status === 'rejected')) {
      request.log.warn(
        { event: 'sign_out_incomplete' },
        'token store unavailable during sign-out: the session is refused here and deleted when the store is back',
      );
    }
    return hint;
  };
}
