// One canonical path per request, computed once and used for routing, auth and route choice.
//
// Rules enforced (fail closed: anything ambiguous is a 400, never a guess):
// - origin-form only: absolute-form (`GET http://host/x`), `*` and a raw `#` are refused;
// - percent-decoding must succeed; NUL, control characters and backslashes are refused;
// - dot segments (`.`/`..`, in any encoding) and empty segments (`//`) are refused;
// - encoded or double-encoded `/`, `\` and `.` (`%2f`, `%5c`, `%252e`, ...) are refused;
// - an encoded `;` (`%3b`) is refused: decoded here it would start a parameter, while servers keep it
//   as data ("/a%3Bx/b" is the segment "a;x", not "/a/b" as a rule would see it);
// - `;parameters` are dropped from each segment for matching (Tomcat-style servers ignore them);
//   a segment that is only a parameter (`/a/;x/b`) counts as empty unless it is the last;
// - a segment ending in `.` or a space, or holding `:$` (NTFS streams: `::$DATA`), is refused: Windows
//   and IIS drop or resolve those, so `/admin.` or `/admin::$DATA` would be `/admin` to the upstream;
// - encoded non-ASCII characters that NFKC maps to ASCII (fullwidth `／`, `．`, `ａ`, U+2024, U+3000, ...)
//   are refused: an NFKC-normalizing framework would read another path than the rules did.

export type CanonicalResult = { path: string } | { error: string };

const FORBIDDEN_ENCODED = /%(2f|5c|25|00)/i;
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f\\]/;
// Characters that make the segment walk below necessary (parameters, Windows aliases).
const SEGMENT_CHECK = /[; :]/;
const NON_ASCII = /[\u0080-\uffff]/;

export function canonicalPath(rawUrl: string): CanonicalResult {
  if (rawUrl.charCodeAt(0) !== 47 /* / */) return { error: 'request target must be a path' };
  const q = rawUrl.indexOf('?');
  const raw = q === -1 ? rawUrl : rawUrl.slice(0, q);
  if (raw.includes('#')) return { error: 'request target must not contain "#"' };
  if (raw.includes('//')) return { error: 'path must not contain empty segments' };
  let decoded = raw;
  if (raw.includes('%')) {
    if (FORBIDDEN_ENCODED.test(raw)) return { error: 'path must not contain encoded "/", "\\", "%" or NUL' };
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return { error: 'path is not valid percent-encoding' };
    }
    // (Node refuses raw non-ASCII bytes in the request line: only an encoded one can get here.)
    if (NON_ASCII.test(decoded) && asciiCount(decoded.normalize('NFKC')) !== asciiCount(decoded)) {
      return { error: 'path must not contain characters that normalize to ASCII (e.g. a fullwidth "/")' };
    }
  }
  if (CONTROL.test(decoded)) return { error: 'path must not contain control characters or "\\"' };
  // No walk for most paths: without parameters or aliases, only a segment ending in "." is refused
  // ("." and ".." included), that is a "./" or a final "." ("/app.js" passes in one scan).
  if (!SEGMENT_CHECK.test(decoded) && !decoded.includes('./') && !decoded.endsWith('.')) {
    return { path: decoded };
  }
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    let seg = segments[i] as string;
    const semi = seg.indexOf(';');
    if (semi !== -1) {
      seg = seg.slice(0, semi);
      // "/a/;x/b" is "/a//b" without its parameter, and servers that drop parameters merge the slashes
      // ("/a/b"): refused, or a rule for "/a/b" would not cover it. A trailing one is just "/a/".
      if (seg === '' && i < segments.length - 1) return { error: 'path must not contain empty segments' };
    }
    if (seg === '.' || seg === '..') return { error: 'path must not contain dot segments' };
    const last = seg.charCodeAt(seg.length - 1);
    if (last === 46 /* . */ || last === 32 /* space */) {
      return { error: 'path segments must not end in "." or a space' };
    }
    if (seg.includes(':$')) return { error: 'path must not contain ":$" (a Windows file stream)' };
    segments[i] = seg;
  }
  if (/%3b/i.test(raw)) return { error: 'path must not contain an encoded ";"' };
  return { path: segments.join('/') };
}

/** ASCII characters in `s`: NFKC may only change the non-ASCII ones (it maps no ASCII character). */
function asciiCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 128) n++;
  return n;
}
