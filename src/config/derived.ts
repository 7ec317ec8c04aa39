// derive(config): values every stage computes from the config, computed once per config and frozen.
import { deepFreeze } from './freeze.js';
import { routePrefix, trimSlash } from './paths.js';
import type { Config } from './schema.js';

/** authward's own cookie names (session/cookie.ts writes them; a route never gets them forwarded). */
export interface DerivedCookieNames {
  session: string;
  /** Prefix of the sign-in transaction cookies (one per pending sign-in). */
  txPrefix: string;
  /** The sign-in loop counter: never `__Host-`/Secure (src/auth/sign-in-loop.ts says why). */
  loop: string;
  /** A pending sign-out's state and return target. */
  logout: string;
  /** publicUrl is https: cookies are `__Host-` (`__Secure-` with a domain) and Secure. */
  secure: boolean;
  /** session.cookieDomain: the session cookie's Domain attribute (shared by the hosts under it). */
  domain: string | undefined;
  isOwn: (name: string) => boolean;
}

export interface Derived {
  /** publicUrl's origin (scheme, host, port): what return targets and Origin headers are compared with. */
  origin: string;
  /** The redirect URI registered at the provider: callbackPath on publicUrl. */
  redirectUri: string;
  /** identity.pathPrefix without trailing slashes ("/.auth"). */
  ownPrefix: string;
  cookies: DerivedCookieNames;
  /** routes[] in config order with their canonical prefix (no trailing "/" or "*"). */
  routePrefixes: readonly { name: string; prefix: string }[];
}

const cache = new WeakMap<Config, Derived>();

/** The derived view of a validated config: the same frozen object on every call for that config. */
export function derive(config: Config): Derived {
  let derived = cache.get(config);
  if (!derived) {
    derived = deepFreeze(compute(config));
    cache.set(config, derived);
  }
  return derived;
}

function compute(config: Config): Derived {
  const url = new URL(config.publicUrl);
  const secure = url.protocol === 'https:';
  const name = config.session.cookieName;
  const domain = config.session.cookieDomain;
  // `__Host-` forbids a Domain attribute: a shared cookie can only be `__Secure-` (docs/forward-auth.md).
  const session = `${secure ? (domain ? '__Secure-' : '__Host-') : ''}${name}`;
  const txPrefix = `${session}-tx-`;
  const loop = `${name}-loop`;
  const logout = `${session}-logout`;
  return {
    origin: url.origin,
    redirectUri: new URL(config.identity.callbackPath, url.origin).href,
    ownPrefix: trimSlash(config.identity.pathPrefix),
    cookies: {
      session,
      txPrefix,
      loop,
      logout,
      secure,
      domain,
      isOwn: (n) => n === session || n.startsWith(txPrefix) || n === loop || n === logout,
    },
    routePrefixes: config.routes.map((r) => ({ name: r.name, prefix: routePrefix(r.path) })),
  };
}
