// Stage 1, the request guard: one canonical path, one Host, a bounded header block, a method worth
// proxying and one route decision, or refused before anything downstream sees the request.
//
// Rules enforced: TRACE is 405, CONNECT never reaches fastify (405 on the socket); at most MAX_HEADERS
// header lines; the path must canonicalize (canonical-path.ts); exactly one well-formed Host (HTTP/1.0
// without one too); the router's choice must equal the route table's for the canonical path (a `;` at a
// route boundary would otherwise route one way and read another); a refused request closes its
// connection and nothing pipelined behind it is forwarded. Every answer authward writes itself carries
// the own-page headers; an answer given before the body was read closes the connection.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { BadRequestError, MethodNotAllowedError, NotFoundError, TooManyHeadersError } from '../errors.js';
import { canonicalPath } from '../proxy/canonical-path.js';
import { HOST_SYNTAX } from '../proxy/forward-context.js';
import { errorHandler, OWN_PAGE_HEADERS, sendError } from '../responses.js';
import { type RouteDecision, type RouteTable, routedTo } from './table.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Decoded, dot-segment-free path (no query): what routing, auth and route choice use. */
    canonicalPath: string;
    /** performance.now() when the request arrived (for requests that never get a reply). */
    startedAt: number;
  }
}

// Header lines per request: browsers send about 20; Envoy refuses past 100 by default. Together with
// Node's 16 KB header size limit (431 past it) this is the header budget.
const MAX_HEADERS = 200;
const PROXIED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const AFTER_REFUSAL = 'request after a refused one on the same connection';

async function guard(app: FastifyInstance, o: { table: RouteTable }) {
  const { table } = o;
  app.decorateRequest('canonicalPath', '');
  app.decorateRequest('startedAt', 0);
  app.decorateRequest<RouteDecision | null>('route', null); // set first thing in onRequest
  app.server.maxHeadersCount = 0; // count every header (Node would silently drop those past 2000)
  app.server.on('connect', refuseConnect); // CONNECT never reaches fastify: answer it, do not just drop it
  // (Hooks on every request take a callback rather than being async: one promise and tick less each.)
  // A connection told to close carries nothing more upstream: a request pipelined behind a refused one
  // would otherwise be forwarded (its answer then thrown away with the connection).
  const closing = new WeakSet<object>();
  app.addHook('onRequest', (request, reply, done) => {
    request.startedAt = performance.now();
    request.route = routedTo(request);
    reply.header('x-request-id', request.id);
    const socket = request.raw.socket;
    const refused = closing.has(socket) ? new BadRequestError(AFTER_REFUSAL) : refusal(request, table);
    if (refused) {
      closing.add(socket);
      reply.header('connection', 'close'); // malformed or ambiguous: never reused
      if (request.method === 'TRACE') reply.header('allow', PROXIED_METHODS);
    }
    done(refused);
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => sendError(request, reply, new NotFoundError()));
  // Own-page headers on every answer authward writes itself (errors and redirects set them where they
  // are made; this covers probes and anything added later). An answer given before the body was read
  // closes the connection: draining an unwanted upload would read it all (Node does so for keep-alive),
  // and the next request on that connection could not start until it ended.
  app.addHook('onSend', (request, reply, payload, done) => {
    if (request.route.kind === 'own' || request.is404) reply.headers(OWN_PAGE_HEADERS);
    if (!request.raw.complete && hasBody(request)) reply.header('connection', 'close');
    done(null, payload);
  });
}

export const guardStage = fp(guard, { name: 'authward-guard' });

/** Why a request is refused before anything else sees it, or undefined. Sets canonicalPath. */
function refusal(request: FastifyRequest, table: RouteTable): Error | undefined {
  if (request.method === 'TRACE') return new MethodNotAllowedError(request.method);
  if (request.raw.rawHeaders.length > 2 * MAX_HEADERS) return new TooManyHeadersError();
  const result = canonicalPath(request.url);
  if ('error' in result) return new BadRequestError(result.error);
  if (hasDuplicateHost(request.raw.rawHeaders)) return new BadRequestError('duplicate Host header');
  // Node refuses a missing Host only for HTTP/1.1; HTTP/1.0 without one is refused here.
  const host = request.headers.host;
  if (host === undefined) return new BadRequestError('missing Host header');
  if (!HOST_SYNTAX.test(host)) return new BadRequestError('Host is not a host[:port]');
  request.canonicalPath = result.path;
  if (!request.is404 && table.decide(request.method, result.path) !== request.route) {
    return new BadRequestError('path is routed differently than it reads (a ";" at a route boundary?)');
  }
  return undefined;
}

/** Node keeps the first of two Host headers; a front proxy may have routed on the second. */
function hasDuplicateHost(raw: string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

const hasBody = (request: FastifyRequest) =>
  request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length']) > 0;

/** CONNECT asks authward to open a tunnel: never. */
function refuseConnect(_req: IncomingMessage, socket: Duplex): void {
  socket.end(
    `HTTP/1.1 405 Method Not Allowed\r\nAllow: ${PROXIED_METHODS}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
  );
}
