// Who is calling: one typed value, produced by the authenticators (today the session cookie) and read by
// authorization, identity headers, token acquisition and the access log, never the cookie or claims.

import type { SessionData } from '../session/cookie.js';
import type { CachedRecord } from '../session/records.js';
import type { AccountRef } from '../token-cache/store.js';
import type { Claims } from './claims.js';

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

/**
 * An API client whose bearer token verified (auth/bearer.ts): a user through an app (delegated) or an
 * application itself (appOnly). Built once per distinct token and cached by its hash until `exp`.
 */
export interface ApiPrincipal {
  readonly kind: 'api';
  readonly claims: Claims;
  /** The caller's access token: passed unchanged to the default upstream, the on-behalf-of assertion. */
  readonly token: string;
  /** sha256 of the token (hex): the cache key of the token and of what is acquired on its behalf. */
  readonly tokenHash: string;
  /** Client credentials (`roles` without a scope): no user behind it. */
  readonly appOnly: boolean;
  /** The token's `exp`, epoch seconds. */
  readonly exp: number;
  /** Identity headers (both families), computed once per token. */
  readonly headers: Readonly<Record<string, string>>;
  /** userHash() of the claims, for log lines. */
  readonly user: string;
}

export type Principal = AnonymousPrincipal | UserPrincipal | ApiPrincipal;

export const ANONYMOUS: AnonymousPrincipal = Object.freeze({ kind: 'anonymous' });

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling, set by the auth stage (null only on a request refused before it). */
    principal: Principal | null;
  }
}

/** The identity headers vouched for this caller (none for an anonymous one). */
export const identityOf = (p: Principal | null): Readonly<Record<string, string>> | undefined =>
  p?.kind === 'user' ? p.record.headers : p?.kind === 'api' ? p.headers : undefined;

/** Where this caller's delegated tokens are cached (none for an anonymous one). */
export const accountOf = (p: Principal | null): AccountRef | undefined =>
  p?.kind === 'user' ? p.account : undefined;

/** The user hash for log lines (userHash() of the claims), never the claims themselves. */
export const userOf = (p: Principal | null): string | undefined =>
  p?.kind === 'user' ? p.record.user : p?.kind === 'api' ? p.user : undefined;

/** How the caller came in, for the access log: `api` (bearer token), `browser` (session) or none. */
export const clientOf = (p: Principal | null): 'api' | 'browser' | undefined =>
  p?.kind === 'api' ? 'api' : p?.kind === 'user' ? 'browser' : undefined;
