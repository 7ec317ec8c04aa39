// Cross-field rules for routes[]: names, paths clear of authward's own, app tokens on public paths, forwarding.
import { neverForwarded } from '../../proxy/headers.js';
import { routePrefix, trimSlash, underPrefix } from '../paths.js';
import type { Config } from '../schema.js';

/** Route names unique; paths distinct, not the root, clear of the own prefix and the probes; no query in targets. */
export function routeRules(c: Config): string[] {
  const problems: string[] = [];
  const id = c.identity;
  const reserved = [c.health.livenessPath, c.health.readinessPath];
  const authPrefix = trimSlash(id.pathPrefix);
  const names = new Set<string>();
  const paths = new Map<string, string>();
  c.routes.forEach((r, i) => {
    const path = routePrefix(r.path);
    if (names.has(r.name)) problems.push(`routes[${i}].name: "${r.name}" is used by another route`);
    names.add(r.name);
    if (path === '') problems.push(`routes[${i}].path: "/" is the default upstream; use upstream.url`);
    const other = paths.get(path);
    if (other) problems.push(`routes[${i}].path: "${r.path}" overlaps route "${other}"`);
    paths.set(path, r.name);
    if (
      underPrefix(path, authPrefix) ||
      underPrefix(authPrefix, path) ||
      reserved.some((p) => underPrefix(p, path))
    ) {
      problems.push(
        `routes[${i}].path: "${r.path}" overlaps authward's own endpoints (${id.pathPrefix}, health)`,
      );
    }
    const target = new URL(r.target);
    if (target.search || target.hash)
      problems.push(`routes[${i}].target: must not carry a query or fragment`);
  });
  return problems;
}

/**
 * A publicRoutes entry that reaches a `token: app` route would hand the application's own token to
 * anyone: refused unless the route says `public: true`. A path is the route's unless a longer route
 * that takes every method owns it (one limited to some methods lets the others fall through).
 */
export function appTokenPublicRules(c: Config): string[] {
  const problems: string[] = [];
  const routes = c.routes.map((r, i) => ({ r, i, prefix: routePrefix(r.path) }));
  const shielded = (path: string, route: (typeof routes)[number]) =>
    routes.some((o) => !o.r.methods && o.prefix.length > route.prefix.length && underPrefix(path, o.prefix));
  for (const route of routes) {
    const { r, i } = route;
    if (r.public && r.token !== 'app')
      problems.push(`routes[${i}].public: only applies to token: app routes`);
    if (r.token !== 'app' || r.public) continue;
    c.publicRoutes.forEach((p, j) => {
      const path = routePrefix(p.path);
      const reaches = p.path.endsWith('*')
        ? underPrefix(route.prefix, path) || (underPrefix(path, route.prefix) && !shielded(path, route))
        : underPrefix(p.path, route.prefix) && !shielded(p.path, route);
      if (!reaches) return;
      problems.push(
        `publicRoutes[${j}].path: "${p.path}" is public under routes[${i}] ("${r.path}", token: app), so anonymous callers would get the application's own token; set routes[${i}].public: true to allow that knowingly, or remove the overlap`,
      );
    });
  }
  return problems;
}

/** routes[].forwardHeaders and forwardCookies name only what can be forwarded. */
export function routeForwardRules(c: Config): string[] {
  const problems: string[] = [];
  const own = c.session.cookieName;
  const isOwn = (n: string) =>
    n === own || n === `__Host-${own}` || n.startsWith(`${own}-`) || n.startsWith(`__Host-${own}-`);
  c.routes.forEach((r, i) => {
    r.forwardHeaders.forEach((h, k) => {
      const why = neverForwarded(h);
      if (why)
        problems.push(`routes[${i}].forwardHeaders[${k}]: "${h}" is never forwarded this way (${why})`);
    });
    if (Array.isArray(r.forwardCookies)) {
      r.forwardCookies.forEach((n, k) => {
        if (isOwn(n)) {
          problems.push(
            `routes[${i}].forwardCookies[${k}]: "${n}" is authward's own cookie, never forwarded`,
          );
        }
      });
    }
  });
  return problems;
}
