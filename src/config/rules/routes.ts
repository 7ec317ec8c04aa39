// Cross-field rules for routes[] that guard credentials: the app token on public paths, forwarded headers and cookies.
import { neverForwarded } from '../proxy/headers.js';
import { routePrefix as prefixOf, underPrefix as under } from './paths.js';
import type { Config } from './schema.js';

/**
 * A publicRoutes entry that reaches a `token: app` route would hand the application's own token to
 * anyone: refused unless the route says `public: true`. A path is the route's unless a longer route
 * that takes every method owns it (one limited to some methods lets the others fall through).
 */
export function appTokenPublicRules(c: Config): string[] {
  const problems: string[] = [];
  const routes = c.routes.map((r, i) => ({ r, i, prefix: prefixOf(r.path) }));
  const shielded = (path: string, route: (typeof routes)[number]) =>
    routes.some((o) => !o.r.methods && o.prefix.length > route.prefix.length && under(path, o.prefix));
  for (const route of routes) {
    const { r, i } = route;
    if (r.public && r.token !== 'app')
      problems.push(`routes[${i}].public: only applies to token: app routes`);
    if (r.token !== 'app' || r.public) continue;
    c.publicRoutes.forEach((p, j) => {
      const path = prefixOf(p.path);
      const reaches = p.path.endsWith('*')
        ? under(route.prefix, path) || (under(path, route.prefix) && !shielded(path, route))
        : under(p.path, route.prefix) && !shielded(p.path, route);
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
