// What a token request asks for and what it returns: the shapes TokenService and its callers share.

export interface AcquiredToken {
  accessToken: string;
  /** Epoch ms. */
  expiresOn: number;
  source: 'l1' | 'store' | 'refresh' | 'app';
}

export interface TokenRequest {
  scopes: readonly string[];
  /** scopesKey(scopes, resource). */
  key: string;
  claims?: string | undefined;
  resource?: string | undefined;
  /** Refresh even when a fresh token is cached (/.auth/refresh). */
  force?: boolean;
}

/** The cache key of a token request: its scopes, and its RFC 8707 resource when it has one. */
export const scopesKey = (scopes: readonly string[], resource?: string) =>
  [...scopes]
    .map((s) => s.toLowerCase())
    .sort()
    .join(' ') + (resource ? `\n${resource}` : '');
