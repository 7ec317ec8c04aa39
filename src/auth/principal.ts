// Who is calling: one typed value, produced by the authenticators (today the session cookie) and read by
// authorization, identity headers, token acquisition and the access log, never the cookie or claims.
import type { SessionData } from '../session/cookie.js';
import type { CachedRecord } from '../session/records.js';
import type { AccountRef } from '../token-cache/store.js';

/** No credential was asked for (authward's own endpoints, publicRoutes) or none was presented there. */
export interface AnonymousPrincipal {
  readonly kind: 'anonymous';
}

/** A signed-in user: the session that proved it, its server-side record and where its tokens are cached. */
export interface UserPrincipal {
  readonly kind: 'user';
  readonly session: SessionData;
  /** Claims, identity headers (computed once per record load), the user hash for logs. */
  readonly record: CachedRecord;
  readonly account: AccountRef;
}

/** Today an anonymous caller or a user; an API client (bearer token) joins this union. */
export type Principal = AnonymousPrincipal | UserPrincipal;

export const ANONYMOUS: AnonymousPrincipal = Object.freeze({ kind: 'anonymous' });

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, set by the auth stage (null only on a request refused before it). */
    principal: Principal | null;
  }
}

/** The identity headers vouched for this caller (none for an anonymous one). */
export const identityOf = (p: Principal | null): Readonly<Record<string, string>> | undefined =>
  p?.kind === 'user' ? p.record.headers : undefined;

/** Where this caller's delegated tokens are cached (none for an anonymous one). */
export const accountOf = (p: Principal | null): AccountRef | undefined =>
  p?.kind === 'user' ? p.account : undefined;

/** The user hash for log lines (userHash() of the claims), never the claims themselves. */
export const userOf = (p: Principal | null): string | undefined =>
  p?.kind === 'user' ? p.record.user : undefined;
