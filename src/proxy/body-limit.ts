// Request body limits (upstream.bodyLimit, routes[].bodyLimit), checked after the session check.
//
// A declared Content-Length past the limit is answered 413 before any byte of the body is read. A chunked
// body is counted as it streams: past the limit the stream errors, so the upstream sees an aborted
// request (never a complete one with a truncated body) and the client gets 413 (see responses.ts).
import { Transform } from 'node:stream';
import type { FastifyInstance, preParsingHookHandler } from 'fastify';
import { PayloadTooLargeError } from '../errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Largest request body in bytes for this route; undefined: unlimited. */
    bodyLimit?: number | undefined;
  }
  interface FastifyRequest {
    /** Set once the body passed its limit: whatever error the forwarding then hits, the answer is 413. */
    bodyTooLarge: boolean;
  }
}

export function bodyLimits(app: FastifyInstance): void {
  app.decorateRequest('bodyTooLarge', false);
  // A route-level step, added only to routes with a limit (most have none): a request on any other
  // route runs no preParsing hook at all.
  app.addHook('onRoute', (route) => {
    const limit = route.config?.bodyLimit;
    if (limit === undefined) return;
    const existing = route.preParsing;
    const own = limitBody(limit);
    route.preParsing =
      existing === undefined ? [own] : [...(Array.isArray(existing) ? existing : [existing]), own];
  });
}

/** The preParsing step of a route whose bodies are limited to `limit` bytes. */
function limitBody(limit: number): preParsingHookHandler {
  // A callback hook, not async: most requests have nothing to count.
  return (request, _reply, payload, done) => {
    const declared = request.headers['content-length'];
    if (declared !== undefined) {
      // Node's parser then delivers exactly this many bytes: nothing to count.
      if (Number(declared) <= limit) return done(null, payload);
      request.bodyTooLarge = true;
      return done(new PayloadTooLargeError());
    }
    if (request.headers['transfer-encoding'] === undefined) return done(null, payload);
    let seen = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, next) {
        seen += chunk.length;
        if (seen <= limit) return next(null, chunk);
        request.bodyTooLarge = true;
        next(new PayloadTooLargeError());
      },
    });
    // The error may come before the forwarder reads the stream; an unheard 'error' would crash the process.
    counted.on('error', () => undefined);
    done(null, payload.pipe(counted));
  };
}
