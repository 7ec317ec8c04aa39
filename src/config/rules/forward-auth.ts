// Cross-field rules for forward auth: off unless opted in, and never trusting a peer nobody named.
import type { Config } from '../schema.js';

/**
 * forwardAuth.enabled needs trustProxy to list the ingress addresses (the endpoint believes the original
 * URI only from them: `true` would let any client ask for a route's token). routes[].forwardAuth and
 * allowedHosts need forwardAuth.enabled; other hosts need a session.cookieDomain that reaches them.
 */
export function forwardAuthRules(c: Config): string[] {
  const problems: string[] = [];
  const fa = c.forwardAuth;
  if (fa.enabled && !(Array.isArray(c.trustProxy) && c.trustProxy.length > 0)) {
    problems.push(
      `forwardAuth.enabled: needs trustProxy to list the ingress addresses or CIDRs (got ${JSON.stringify(c.trustProxy)})`,
    );
  }
  c.routes.forEach((r, i) => {
    if (r.forwardAuth && !fa.enabled)
      problems.push(`routes[${i}].forwardAuth: needs forwardAuth.enabled: true`);
  });
  if (fa.allowedHosts.length > 0 && !fa.enabled) {
    problems.push('forwardAuth.allowedHosts: needs forwardAuth.enabled: true');
  }
  const domain = c.session.cookieDomain;
  const under = (host: string) => domain !== undefined && (host === domain || host.endsWith(`.${domain}`));
  fa.allowedHosts.forEach((entry, i) => {
    const host = entry.replace(/^\*\./, '').replace(/:\d+$/, '');
    if (!under(host)) {
      problems.push(
        `forwardAuth.allowedHosts[${i}]: "${entry}" is not under session.cookieDomain (${domain ?? 'unset'}): the session cookie would never reach it`,
      );
    }
  });
  const publicHost = new URL(c.publicUrl).hostname;
  if (domain !== undefined && !under(publicHost)) {
    problems.push(`session.cookieDomain: publicUrl's host "${publicHost}" is not under "${domain}"`);
  }
  return problems;
}
