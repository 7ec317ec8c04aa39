// Return targets (post-login, post-logout): same-origin paths, or (forwardAuth.allowedHosts) a URL on a
// listed host; anything else becomes "/".
//
// Refused: protocol-relative (`//evil`), backslash forms (`/\evil`), their percent-encoded and
// whitespace/control-character variants (CR/LF, tab), other schemes, userinfo, other hosts, and any
// input whose resolved path starts with "//" (dot segments: "/.//evil" resolves to "//evil").

const SAFE_START = /^\/(?![/\\])/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const UNSAFE_CHAR = /[\u0000-\u001f\u007f\\]/;

export function safeReturnTo(
  value: unknown,
  publicOrigin: string,
  allowedHosts: readonly string[] = [],
): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) return '/';
  if (allowedHosts.length > 0 && ABSOLUTE.test(value)) {
    const other = listedHostTarget(value, publicOrigin, allowedHosts);
    if (other) return other;
  }
  let candidate = value;
  if (candidate.startsWith(`${publicOrigin}/`)) candidate = candidate.slice(publicOrigin.length);
  if (!SAFE_START.test(candidate) || UNSAFE_CHAR.test(candidate)) return '/';
  // Browsers and servers decode; so must the check, repeatedly, until it stops changing.
  let decoded = candidate;
  for (let i = 0; i < 3; i++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return '/';
    }
    if (!SAFE_START.test(next.trimStart()) || UNSAFE_CHAR.test(next)) return '/';
    if (next === decoded) break;
    decoded = next;
  }
  let url: URL;
  try {
    url = new URL(candidate, publicOrigin);
  } catch {
    return '/';
  }
  if (url.origin !== publicOrigin || url.username || url.password) return '/';
  // Resolving dot segments can make the path protocol-relative again ("/.//evil" -> "//evil").
  const path = url.pathname + url.search + url.hash;
  return SAFE_START.test(path) ? path : '/';
}

// A URL on another host, written plainly: http(s), a lower-case ASCII host (punycode for IDN), an
// optional port, no userinfo, and a path (or nothing). Anything else is not even considered.
const ABSOLUTE = /^https?:\/\/[^/]*(?:\/|$)/;
const PLAIN = /^(https?):\/\/([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::([1-9][0-9]{0,4}))?(\/[\s\S]*)?$/;
const DEFAULT_PORT: Record<string, string> = { http: '80', https: '443' };

/**
 * The target when it is on a host the list names: an entry `host` or `host:port` is that host on that
 * port (no port: the scheme's default); `*.domain` any host below the domain, not the domain itself.
 * https only when publicUrl is https. The path passes the same-origin rules on that host, else "/".
 */
function listedHostTarget(value: string, publicOrigin: string, hosts: readonly string[]): string | undefined {
  const m = PLAIN.exec(value);
  if (!m) return undefined;
  const [, scheme = '', host = '', rawPort, path = '/'] = m;
  if (publicOrigin.startsWith('https:') && scheme !== 'https') return undefined;
  const port = rawPort ?? DEFAULT_PORT[scheme];
  if (!hosts.some((entry) => hostMatches(entry, host, port, scheme))) return undefined;
  const origin = `${scheme}://${host}${port === DEFAULT_PORT[scheme] ? '' : `:${port}`}`;
  if (new URL(origin).origin !== origin) return undefined; // (an IP address written oddly, say)
  return `${origin}${safeReturnTo(path, origin)}`;
}

function hostMatches(entry: string, host: string, port: string | undefined, scheme: string): boolean {
  const colon = entry.lastIndexOf(':');
  const name = colon === -1 ? entry : entry.slice(0, colon);
  const entryPort = colon === -1 ? DEFAULT_PORT[scheme] : entry.slice(colon + 1);
  if (entryPort !== port) return false;
  if (name.startsWith('*.')) return host.endsWith(name.slice(1)) && host.length > name.length - 1;
  return host === name;
}
