// Return targets (post-login, post-logout): same-origin paths only; anything else becomes "/".
//
// Refused: protocol-relative (`//evil`), backslash forms (`/\evil`), their percent-encoded and
// whitespace/control-character variants (CR/LF, tab), other schemes, userinfo, other hosts, and any
// input whose resolved path starts with "//" (dot segments: "/.//evil" resolves to "//evil").

const SAFE_START = /^\/(?![/\\])/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const UNSAFE_CHAR = /[\u0000-\u001f\u007f\\]/;

export function safeReturnTo(value: unknown, publicOrigin: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 4096) return '/';
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
