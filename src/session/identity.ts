// Who a session belongs to: the claims kept server-side and the references derived from them. Here, not
// in auth/, because the session records (session/records.ts) hold them and nothing imports upward.
import { createHash } from 'node:crypto';

export interface Claims {
  sub: string;
  oid?: string;
  tid?: string;
  iss: string;
  name?: string;
  email?: string;
  preferred_username?: string;
  upn?: string;
  groups?: string[];
  roles?: string[];
}

/** The immutable user id: `oid` (Entra) when present, else `sub`. Never a mutable claim like email. */
export const userId = (c: Claims) => c.oid ?? c.sub;

/** A short, stable, non-reversible user reference for logs (never an email or a name). */
export const userHash = (c: Claims) => createHash('sha256').update(userId(c)).digest('hex').slice(0, 16);
