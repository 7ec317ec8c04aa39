// The original request an ingress asks about, read from the header forms the ingresses send.
//
// Forms, first match wins: ingress-nginx's X-Original-URL (absolute); nginx's X-Original-URI (+
// X-Original-Method); Traefik's and Caddy's X-Forwarded-Uri (+ -Method, -Host, -Proto); Envoy ext_authz's
// HTTP service (the original path appended to the verify path, its method and headers as they were).
// Only called for a peer trustProxy names. An ingress sets its own form's headers (replacing a client's),
// but passes the other forms' through: two forms at once, or one header twice, is ambiguous and refused.
import type { FastifyRequest } from 'fastify';
import { HOST_SYNTAX } from '../proxy/forward-context.js';

/** `nginx`: only 2xx/401/403 are understood (sign-in via error_page); `redirect`: the answer reaches the client. */
export type IngressForm = 'nginx' | 'redirect';

export interface Original {
  method: string;
  host: string;
  proto: string;
  /** Path and query as the client sent them (canonicalized by the caller). */
  uri: string;
  form: IngressForm;
}

const METHOD = /^[A-Z]{1,16}$/;
const PROTO = /^https?$/;

const one = (v: string | string[] | undefined): string | undefined => {
  if (typeof v !== 'string') return undefined; // absent, or sent twice: not believed
  const comma = v.lastIndexOf(','); // a chain of proxies: the last one is the ingress's own
  return (comma === -1 ? v : v.slice(comma + 1)).trim();
};

/** The original request, or why it cannot be read (a 400). `verifyPath` has no trailing slash. */
export function originalRequest(
  request: FastifyRequest,
  verifyPath: string,
  defaultProto: string,
): Original | string {
  const h = request.headers;
  const twice = repeated(request.raw.rawHeaders);
  if (twice) return `${twice} sent more than once`;
  const forwardedHost = one(h['x-forwarded-host']) ?? one(h.host) ?? '';
  const forwardedProto = one(h['x-forwarded-proto']) ?? defaultProto;
  let o: Original;
  const originalUrl = one(h['x-original-url']);
  const originalUri = h['x-original-uri'];
  const forwardedUri = h['x-forwarded-uri'];
  const forms =
    (originalUrl !== undefined || originalUri !== undefined ? 1 : 0) +
    (forwardedUri !== undefined ? 1 : 0) +
    (request.url.startsWith(`${verifyPath}/`) ? 1 : 0);
  if (forms > 1) return 'the original request is described in more than one form';
  if (originalUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(originalUrl);
    } catch {
      return 'X-Original-URL is not a URL';
    }
    const uri = originalUrl.slice(originalUrl.indexOf('/', url.protocol.length + 2));
    if (originalUri !== undefined && originalUri !== uri) return 'X-Original-URL and X-Original-URI differ';
    const method = one(h['x-original-method']) ?? 'GET';
    o = { method, host: url.host, proto: url.protocol.slice(0, -1), uri, form: 'nginx' };
  } else if (originalUri !== undefined) {
    if (typeof originalUri !== 'string') return 'more than one X-Original-URI';
    const method = one(h['x-original-method']) ?? 'GET';
    o = { method, host: forwardedHost, proto: forwardedProto, uri: originalUri, form: 'nginx' };
  } else if (forwardedUri !== undefined) {
    if (typeof forwardedUri !== 'string') return 'more than one X-Forwarded-Uri';
    const method = one(h['x-forwarded-method']) ?? 'GET';
    o = { method, host: forwardedHost, proto: forwardedProto, uri: forwardedUri, form: 'redirect' };
  } else if (request.url.startsWith(`${verifyPath}/`)) {
    const uri = request.url.slice(verifyPath.length);
    o = { method: request.method, host: forwardedHost, proto: forwardedProto, uri, form: 'redirect' };
  } else {
    return 'no original request: send X-Original-URI, X-Forwarded-Uri or the path after the verify path';
  }
  if (!METHOD.test(o.method)) return 'the original method is not a method';
  if (!HOST_SYNTAX.test(o.host)) return 'the original host is not a host[:port]';
  if (!PROTO.test(o.proto)) return 'the original scheme is not http or https';
  return o;
}

// Headers that describe the original request: each may appear once (Node would join two into one value).
const DESCRIBING = new Set([
  'x-original-url',
  'x-original-uri',
  'x-original-method',
  'x-forwarded-uri',
  'x-forwarded-method',
  'x-forwarded-host',
  'x-forwarded-proto',
]);

/** The first describing header sent twice, if any (the ingress's and a client's copy, say). */
function repeated(raw: readonly string[]): string | undefined {
  const seen: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (!DESCRIBING.has(name)) continue;
    if (seen.includes(name)) return name;
    seen.push(name);
  }
  return undefined;
}
