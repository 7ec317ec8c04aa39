// One @fastify/http-proxy registration: streaming, TLS verified, timeouts, generic 502/504, WebSockets.
import type { IncomingHttpHeaders } from 'node:http';
import { createRequire } from 'node:module';
import httpProxy from '@fastify/http-proxy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type WebSocket from 'ws';
import { trustedCas } from '../ca.js';
import {
  BadRequestError,
  ClientGoneError,
  PayloadTooLargeError,
  UpstreamTimeoutError,
  UpstreamUnavailableError,
} from '../errors.js';
import { sendError } from '../responses.js';
import { type ForwardContext, forwardHeaders, responseHeaders } from './headers.js';
import { upstreamAgent, withClientSocket } from './upstream-agent.js';

export interface ForwardOptions {
  /** Path prefix ('' for the catch-all). Not `prefix`: fastify would apply that to this plugin too. */
  mount: string;
  /** Target URL; its path is the base the rest of the request path is appended to. */
  target: string;
  timeoutSeconds: number;
  caFile?: string | undefined;
  websocket: boolean;
  /** authward's own cookie names: never forwarded, never set by a response (see headers.ts). */
  ownCookie: (name: string) => boolean;
  /** Per-request parts of the header rules (identity, tokens, forwarded-for). */
  context: (request: FastifyRequest) => ForwardContext;
  /** Runs before forwarding (e.g. token acquisition); may reply itself. */
  preHandler?: (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => void;
  methods?: readonly string[] | undefined;
  routeConfig?: Record<string, unknown>;
  /** Handles the upstream response instead of streaming it (e.g. a claims challenge). */
  onResponse?: (request: FastifyRequest, reply: FastifyReply, res: never) => void;
}

export async function forwardPlugin(app: FastifyInstance, opts: ForwardOptions): Promise<void> {
  const target = new URL(opts.target);
  const upstream = target.origin;
  const basePath = target.pathname.replace(/\/+$/, '');
  // reply-from does not verify upstream certificates unless told: verify against system CAs + caFile.
  const ca = trustedCas(opts.caFile);
  const agent = upstreamAgent(upstream, {
    // reply-from's own defaults for the agent it would have made.
    connections: 128,
    pipelining: 1,
    headersTimeout: opts.timeoutSeconds * 1000,
    // The same bound on silence between body bytes (not on the whole body): a stalled upstream would
    // otherwise hold the client, the socket and the request forever. A download or a server-sent event
    // stream that keeps moving is never cut; an event stream must send something (a `:` comment line
    // as heartbeat) at least once per timeout, as behind nginx (proxy_read_timeout).
    bodyTimeout: opts.timeoutSeconds * 1000,
    connect: { rejectUnauthorized: true, ...(ca ? { ca } : {}), timeout: 10_000 },
  });
  // After the server has drained (fastify runs plugin onClose hooks once in-flight requests are done).
  app.addHook('onClose', () => agent.close());
  // Every upgrade reaches fastify (the default upstream's listener hands them all over); without a
  // WebSocket proxy here, http-proxy would hijack the reply and leave the socket open for good. A plain
  // answer instead: the upgrade listener destroys the socket once it is written. Checked in the route's
  // own pre-handler, first: one hook call per request less than an onRequest hook of its own.
  const preHandler = opts.websocket ? opts.preHandler : refusingUpgrades(opts.preHandler);
  // biome-ignore lint/suspicious/noExplicitAny: the plugin's option union does not type-check through register()
  await app.register(httpProxy as any, {
    upstream,
    prefix: opts.mount || '/',
    rewritePrefix: basePath || (opts.mount ? '/' : ''),
    websocket: opts.websocket,
    ...(opts.methods ? { httpMethods: [...opts.methods] } : {}),
    ...(preHandler ? { preHandler } : {}),
    config: opts.routeConfig ?? {},
    internalRewriteLocationHeader: false,
    // reply-from's "fetching from remote server" and "response received": the access line says it once.
    disableRequestLogging: true,
    undici: agent,
    replyOptions: {
      // Never retry: reply-from by default re-sends a GET that got 503 up to 10 more times (42 ms x
      // random backoff), multiplying the load on an upstream that is shedding it and leaving each
      // discarded response's connection busy. A 503 goes to the client once, as the upstream sent it.
      retryDelay: () => null,
      ...(opts.onResponse ? { onResponse: opts.onResponse } : {}),
      rewriteRequestHeaders: (request: FastifyRequest, headers: IncomingHttpHeaders) =>
        withClientSocket(forwardHeaders(headers, opts.context(request)), request.raw.socket),
      rewriteHeaders: (headers: IncomingHttpHeaders) => responseHeaders(headers, opts.ownCookie),
      onError: (reply: FastifyReply, { error }: { error: Error }) => {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        if (cause instanceof ClientGoneError) {
          // Nobody to answer and no upstream to blame: not an upstream error (499 is nginx's code for it).
          reply.log.info({ event: 'client_gone', upstream }, cause.message);
          return reply.code(cause.statusCode as number).send();
        }
        // The client's body passed its limit and the forwarding was cut for it: the client's fault (413,
        // the error handler's rule), not the upstream's.
        if (reply.request.bodyTooLarge) return sendError(reply.request, reply, new PayloadTooLargeError());
        const timedOut = (error as { statusCode?: number }).statusCode === 504;
        reply.log.warn(
          { event: 'upstream_error', upstream, code: cause?.code ?? (error as { code?: string }).code },
          timedOut ? 'upstream timed out' : 'upstream unavailable',
        );
        reply.server.metrics?.upstreamError(
          String(opts.routeConfig?.route ?? 'upstream'),
          timedOut ? 'timeout' : 'unavailable',
        );
        // Answered here, not through the error handler: this line is the failure's one line.
        const err = timedOut ? new UpstreamTimeoutError() : new UpstreamUnavailableError();
        return sendError(reply.request, reply, err);
      },
    },
    ...(opts.websocket
      ? { wsServerOptions: { WebSocket: clientSocketClass(app, upstream, routeName(opts)) } }
      : {}),
    wsClientOptions: {
      // The same header rules as any request, over the one client header a handshake carries: its
      // cookies. ws writes the handshake's own headers (Host, Upgrade, Sec-WebSocket-*): the client's
      // Sec-WebSocket-Key there would fail the upstream's accept check.
      rewriteRequestHeaders: (_headers: unknown, request: FastifyRequest) =>
        forwardHeaders({ cookie: request.headers.cookie }, opts.context(request)),
      ...(ca ? { ca } : {}),
      rejectUnauthorized: true,
    },
  });
}

// The ws module http-proxy itself uses (its dependency, not ours): a client socket class must extend it.
const ProxyWebSocket = createRequire(import.meta.resolve('@fastify/http-proxy'))('ws') as typeof WebSocket;

const routeName = (opts: ForwardOptions) => String(opts.routeConfig?.route ?? 'upstream');

/**
 * The client side of a proxied WebSocket. When the upstream fails (refused, TLS not trusted, not a
 * WebSocket), http-proxy closes the client's socket with the error's message as the reason (`connect
 * ECONNREFUSED 10.0.0.7:8080`): the client gets a generic reason, the detail goes to the log. (An error's
 * message arrives as a string; an upstream's own close reason, passed through as is, as a Buffer.)
 */
function clientSocketClass(app: FastifyInstance, upstream: string, route: string): typeof WebSocket {
  return class ClientSocket extends ProxyWebSocket {
    override close(code?: number, reason?: string | Buffer): void {
      if (typeof reason === 'string') {
        app.log.warn({ event: 'upstream_error', upstream, reason }, 'websocket upstream error');
        app.metrics?.upstreamError(route, 'unavailable');
      }
      super.close(code, typeof reason === 'string' ? 'upstream unavailable' : reason);
    }
  };
}

type PreHandler = NonNullable<ForwardOptions['preHandler']>;

/** The route's pre-handler behind a refusal of WebSocket upgrades (400, connection closed). */
function refusingUpgrades(next: PreHandler | undefined): PreHandler {
  return (request, reply, done) => {
    if ((request.raw as { upgrade?: boolean }).upgrade !== true)
      return next ? next(request, reply, done) : done();
    reply.header('connection', 'close');
    done(new BadRequestError('this route does not accept WebSocket upgrades'));
  };
}
