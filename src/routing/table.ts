// The route table: where a canonical path belongs (authward's own endpoints, a token route, or the default
// upstream), decided once from the config. Every stage reads the decision, never the config's route list.
//
// Rules: authward's own prefix (identity.pathPrefix) and, for GET/HEAD, the callback and health paths are
// authward's; then routes[] longest prefix first, honouring routes[].methods (a GET route also answers
// HEAD); everything else is the default upstream. The router decides on the raw path (it decodes but
// keeps `;parameters`): routing/guard.ts refuses a request on which the two disagree, so routing,
// authorization and token choice always see the same path.
import type { FastifyRequest } from 'fastify';
import { derive } from '../config/derived.js';
import { routePrefix, underPrefix } from '../config/paths.js';
import type { Config, RouteConfig } from '../config/schema.js';

/** Where a request goes: one frozen object per destination, made at start (compared by identity). */
export type RouteDecision =
  | { readonly kind: 'own'; readonly name: 'authward'; readonly config: null }
  | { readonly kind: 'route'; readonly name: string; readonly config: RouteConfig }
  | { readonly kind: 'upstream'; readonly name: 'upstream'; readonly config: null };

export const OWN_ROUTE: RouteDecision = Object.freeze({ kind: 'own', name: 'authward', config: null });
export const UPSTREAM_ROUTE: RouteDecision = Object.freeze({
  kind: 'upstream',
  name: 'upstream',
  config: null,
});

declare module 'fastify' {
  interface FastifyRequest {
    /** Where this request goes (set by the guard stage before anything else reads it). */
    route: RouteDecision;
  }
  interface FastifyContextConfig {
    /** authward's own endpoints and health probes: answered without a session. */
    public?: boolean;
    /** The token route a proxy registration serves (its decision from the route table). */
    decision?: RouteDecision;
  }
}

export interface RouteTable {
  /** The decision for a canonical path and method, from the config alone. */
  decide(method: string, path: string): RouteDecision;
  /** Each token route's decision, in config order (what the proxy stage registers). */
  readonly routes: readonly (RouteDecision & { kind: 'route' })[];
}

export function routeTable(config: Config): RouteTable {
  const ownPrefix = `${derive(config).ownPrefix}/`;
  const ownGets = new Set([
    config.identity.callbackPath,
    config.health.livenessPath,
    config.health.readinessPath,
  ]);
  const routes = config.routes.map((r) => Object.freeze({ kind: 'route' as const, name: r.name, config: r }));
  const matchers = routes
    .map((decision) => ({
      decision,
      prefix: routePrefix(decision.config.path),
      methods: decision.config.methods ? new Set<string>(decision.config.methods) : null,
    }))
    .sort((a, b) => b.prefix.length - a.prefix.length);
  return {
    routes,
    decide(method, path) {
      if (path.startsWith(ownPrefix)) return OWN_ROUTE;
      if (ownGets.has(path) && (method === 'GET' || method === 'HEAD')) return OWN_ROUTE;
      for (const r of matchers) {
        // A GET route also answers HEAD (fastify's exposeHeadRoutes), so HEAD belongs where GET does.
        const allowed = !r.methods || r.methods.has(method) || (method === 'HEAD' && r.methods.has('GET'));
        if (allowed && underPrefix(path, r.prefix)) return r.decision;
      }
      return UPSTREAM_ROUTE;
    },
  };
}

/** Where fastify's router sent a request, as a decision of the same table (no allocation). */
export function routedTo(request: FastifyRequest): RouteDecision {
  const config = request.routeOptions.config;
  return config.decision ?? (config.public ? OWN_ROUTE : UPSTREAM_ROUTE);
}
