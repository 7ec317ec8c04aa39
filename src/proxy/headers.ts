// Header rules for everything forwarded: strip what a client must not set, then inject what authward vouches for.
import type { IncomingHttpHeaders } from 'node:http';

/**
 * The headers authward itself sets on a forwarded request (identity families, the App Service token
 * headers): each is one of the names below, so a client's copy is always stripped first.
 * test/proxy/identity-headers-stripped.test.ts fails if auth/claims.ts sets one that is not.
 */
export const INJECTED_HEADERS = [
  'x-ms-client-principal',
  'x-ms-client-principal-id',
  'x-ms-client-principal-name',
  'x-ms-client-principal-idp',
  'x-ms-token-aad-access-token',
  'x-ms-token-aad-id-token',
  'x-ms-token-aad-expires-on',
  'x-ms-token-aad-refresh-token',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-preferred-username',
  'x-forwarded-groups',
] as const;
export type InjectedHeader = (typeof INJECTED_HEADERS)[number];

/** Every header authward may inject: client copies are always removed, in any case and `_`/`-` spelling. */
export const PROXY_OWNED_HEADERS: ReadonlySet<string> = new Set([
  ...INJECTED_HEADERS,
  'x-forwarded-access-token',
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-preferred-username',
  'x-auth-request-groups',
  'x-auth-request-access-token',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-forwarded-uri',
  'x-original-url',
  'x-original-uri',
  'x-rewrite-url',
  'x-real-ip',
  'forwarded',
  'x-request-id',
  'x-authward-user',
]);

/**
 * Identity header families, stripped by prefix: an upstream reading `X-MS-CLIENT-PRINCIPAL-GROUPS` or
 * `X-MS-TOKEN-AAD-FOO` (App Service names more than authward sends) must never get a client's copy.
 */
const PROXY_OWNED_PREFIXES: readonly string[] = [
  'x-ms-client-principal',
  'x-ms-token-',
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-auth-request-',
  'x-authward-',
];

/** A header authward owns (an exact name or a family); `name` lower-case with `-` (not `_`). */
export function isProxyOwned(name: string): boolean {
  if (PROXY_OWNED_HEADERS.has(name)) return true;
  // Every family starts with "x-": most headers are decided by two character codes.
  if (name.charCodeAt(0) !== 120 /* x */ || name.charCodeAt(1) !== 45 /* - */) return false;
  for (const prefix of PROXY_OWNED_PREFIXES) if (name.startsWith(prefix)) return true;
  return false;
}

// In an identity family, but set by ingresses on their auth request to describe it (ingress-nginx).
const INGRESS_DESCRIPTIONS: ReadonlySet<string> = new Set(['x-auth-request-redirect']);

/**
 * The first header of an identity family among a request's (a client's copy), in any `_`/`-` spelling.
 * Forward auth: the ingress overwrites only the names its config copies, so verify refuses the rest.
 */
export function clientIdentityHeader(headers: IncomingHttpHeaders): string | undefined {
  for (const raw in headers) {
    if (raw.charCodeAt(0) !== 120 /* x */) continue;
    const name = raw.includes('_') ? raw.replaceAll('_', '-') : raw;
    if (INGRESS_DESCRIPTIONS.has(name)) continue;
    for (const prefix of PROXY_OWNED_PREFIXES) if (name.startsWith(prefix)) return raw;
  }
  return undefined;
}

// Hop-by-hop headers (RFC 9110 7.6.1) and framing headers undici sets itself.
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

// Method-override headers: frameworks (Express method-override, Rails, Laravel, Symfony, ASP.NET) let
// them replace the request method. authward decided on the real method (publicRoutes[].methods,
// routes[].methods), so a GET must not turn into a DELETE behind it: they are never forwarded.
const METHOD_OVERRIDE: ReadonlySet<string> = new Set([
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);

/**
 * End-to-end request headers a route target gets by default: content negotiation, the body's framing and
 * type, conditional and range requests, caching, `Origin` (for the API's own CSRF check), `Prefer`,
 * `User-Agent` and W3C trace context. Everything else a browser holds for the application (`Cookie`,
 * `X-Api-Key`, `X-CSRF-Token`, ...) stays with the application; `routes[].forwardHeaders` and
 * `routes[].forwardCookies` widen this per route. authward then adds Host (the target's),
 * X-Forwarded-*, X-Request-Id and the route's token.
 */
export const ROUTE_REQUEST_HEADERS: readonly string[] = [
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'content-encoding',
  'content-language',
  'content-length',
  'content-range',
  'content-type',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'origin',
  'pragma',
  'prefer',
  'range',
  'traceparent',
  'tracestate',
  'user-agent',
];

/** What a route target may get of the client's headers and cookies, built once per route. */
export interface RouteHeaderPolicy {
  /** Lower-case names passed on; every other client header is dropped. */
  allow: ReadonlySet<string>;
  /** The client's cookies passed on (authward's own never): none, all, or these names. */
  cookies: boolean | ReadonlySet<string>;
}

export function routeHeaderPolicy(route: {
  forwardHeaders: readonly string[];
  forwardCookies: boolean | readonly string[];
}): RouteHeaderPolicy {
  const extra = route.forwardHeaders.map((h) => h.toLowerCase());
  const cookies = route.forwardCookies;
  return {
    // `host` is already the target's here (reply-from sets it before the header rules run).
    allow: new Set([...ROUTE_REQUEST_HEADERS, 'host', ...extra]),
    cookies: typeof cookies === 'boolean' ? cookies : new Set(cookies),
  };
}

/** Why a header named in `routes[].forwardHeaders` can never be forwarded that way, or undefined. */
export function neverForwarded(header: string): string | undefined {
  const name = header.toLowerCase().replace(/_/g, '-');
  if (name === 'cookie') return 'cookies are chosen with forwardCookies';
  if (name === 'authorization') return "the route's own bearer token replaces it";
  if (name === 'host') return "Host is always the target's";
  if (isProxyOwned(name) || HOP_BY_HOP.has(name) || METHOD_OVERRIDE.has(name)) {
    return 'authward strips or sets it on every request';
  }
  return undefined;
}

export interface ForwardContext {
  /** The client's address chain as authward trusts it (X-Forwarded-For value). */
  forwardedFor: string;
  proto: string;
  host: string;
  requestId: string;
  /** Names of authward's own cookies, removed before forwarding. */
  ownCookie: (name: string) => boolean;
  /** Headers authward vouches for (identity, tokens); added after stripping. */
  inject?: Readonly<Record<string, string>> | undefined;
  /** Drop the client's Authorization (a route that injects its own bearer token). */
  dropAuthorization?: boolean;
  /** A route's allow-list (see ROUTE_REQUEST_HEADERS); absent for the default upstream (all pass). */
  policy?: RouteHeaderPolicy | undefined;
}

/** Builds the upstream request headers from the client's, in one pass. */
export function forwardHeaders(
  headers: IncomingHttpHeaders,
  ctx: ForwardContext,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    const canonical = name.includes('_') ? name.replace(/_/g, '-') : name;
    if (isProxyOwned(canonical) || HOP_BY_HOP.has(canonical) || METHOD_OVERRIDE.has(canonical)) {
      continue;
    }
    if (
      canonical !== name &&
      (canonical === 'authorization' || canonical === 'cookie' || canonical === 'host')
    ) {
      continue; // an underscore twin of a header that matters is never legitimate
    }
    if (name === 'cookie') {
      const cookies = ctx.policy ? ctx.policy.cookies : true;
      if (cookies === false) continue;
      const header = Array.isArray(value) ? value.join('; ') : value;
      const kept = stripCookies(header, ctx.ownCookie, cookies === true ? undefined : cookies);
      if (kept) out.cookie = kept;
      continue;
    }
    if (name === 'authorization' && ctx.dropAuthorization) continue;
    if (ctx.policy && !ctx.policy.allow.has(name)) continue;
    out[name] = value;
  }
  out['x-forwarded-for'] = ctx.forwardedFor;
  out['x-forwarded-proto'] = ctx.proto;
  out['x-forwarded-host'] = ctx.host;
  out['x-request-id'] = ctx.requestId;
  if (ctx.inject) Object.assign(out, ctx.inject);
  return out;
}

/**
 * The upstream's response headers for the client: hop-by-hop ones (and any its Connection header
 * names) describe the upstream connection, not the client's; a copied `connection: keep-alive`
 * would even override a client's `Connection: close`. A `Set-Cookie` of one of authward's own cookie
 * names is dropped: a backend (or a third-party route target) must not plant or end a session.
 */
export function responseHeaders(
  headers: IncomingHttpHeaders,
  ownCookie: (name: string) => boolean,
): IncomingHttpHeaders {
  const connection = headers.connection;
  // (Nearly always just keep-alive or close, which name no other header.)
  const listed =
    typeof connection === 'string' && connection !== 'keep-alive' && connection !== 'close'
      ? new Set(
          connection
            .toLowerCase()
            .split(',')
            .map((l) => l.trim()),
        )
      : null;
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = headers[name];
  }
  const setCookie = out['set-cookie'] as string[] | string | undefined;
  if (setCookie !== undefined) {
    const kept = (Array.isArray(setCookie) ? setCookie : [setCookie]).filter(
      (c) => !ownCookie(cookieName(c)),
    );
    if (kept.length > 0) out['set-cookie'] = kept;
    else delete out['set-cookie'];
  }
  return out;
}

/** The name in a `Set-Cookie` value (`name=value; attributes`). */
function cookieName(setCookie: string): string {
  const eq = setCookie.indexOf('=');
  return (eq === -1 ? setCookie : setCookie.slice(0, eq)).trim();
}

/**
 * Removes authward's cookies from a Cookie header (and, with `only`, every cookie not named there);
 * returns what is left ('' when nothing).
 */
export function stripCookies(
  cookieHeader: string,
  own: (name: string) => boolean,
  only?: ReadonlySet<string>,
): string {
  let kept = '';
  for (const part of cookieHeader.split(';')) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim();
    if (!name || own(name) || (only && !only.has(name))) continue;
    kept = kept ? `${kept}; ${part.trim()}` : part.trim();
  }
  return kept;
}
