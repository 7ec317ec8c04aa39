// publicRoutes: served without a session, matched on the canonical path (exact, or prefix with "*").

import { trimSlash, underPrefix } from '../config/paths.js';
import type { Config } from '../config/schema.js';

export type PublicMatcher = (method: string, path: string) => boolean;

export function publicMatcher(routes: Config['publicRoutes']): PublicMatcher {
  if (routes.length === 0) return () => false;
  const exact = new Map<string, ReadonlySet<string> | null>();
  const prefixes: { prefix: string; methods: ReadonlySet<string> | null }[] = [];
  for (const r of routes) {
    const methods = r.methods ? new Set<string>(r.methods) : null;
    if (r.path.endsWith('*')) prefixes.push({ prefix: trimSlash(r.path.slice(0, -1)), methods });
    else exact.set(r.path, methods);
  }
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  return (method, path) => {
    if (exact.has(path)) {
      const m = exact.get(path);
      if (!m || m.has(method)) return true;
    }
    for (const p of prefixes) {
      if (underPrefix(path, p.prefix) && (!p.methods || p.methods.has(method))) return true;
    }
    return false;
  };
}
