// GET /.auth/me: the signed-in user's claims in App Service's shape, or 401.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../errors.js';
import { OWN_PAGE_HEADERS, sendError } from '../responses.js';
import { signedIn } from '../session/cookie.js';
import type { SessionRecords } from '../session/records.js';
import { principalName } from './claims.js';
import { sessionIsLive } from './session-live.js';

/** Own endpoints skip the session check, so this one applies the same rules itself (session-live.ts). */
export function meRoute(records: SessionRecords, idleTimeout: number, providerName: string) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const s = signedIn(request.session);
    const rec = sessionIsLive(s, Date.now() / 1000, idleTimeout) ? await records.get(s.sid) : null;
    if (!rec) return sendError(request, reply, new UnauthenticatedError());
    const c = rec.record.claims;
    const user_claims = Object.entries(c).flatMap(([typ, val]) =>
      Array.isArray(val) ? val.map((v) => ({ typ, val: v })) : [{ typ, val: String(val) }],
    );
    reply.headers(OWN_PAGE_HEADERS);
    return [{ provider_name: providerName, user_id: principalName(c), user_claims }];
  };
}
