// The per-request parts of the header rules: X-Forwarded-* as authward vouches for them, what to inject.
import type { FastifyRequest } from 'fastify';
import type { CookieNames } from '../session/cookie.js';
import type { ForwardContext } from './headers.js';

/** X-Forwarded-* as authward vouches for them (fastify applies trustProxy to ips, protocol and host). */
export function forwardContext(
  request: FastifyRequest,
  names: CookieNames,
  inject: Readonly<Record<string, string>> | undefined,
  dropAuthorization = false,
): ForwardContext {
  return {
    forwardedFor: request.ips ? [...request.ips].reverse().join(', ') : request.ip,
    proto: request.protocol,
    host: request.host,
    requestId: request.id,
    ownCookie: names.isOwn,
    inject,
    dropAuthorization,
  };
}
