// Stage 2, the access log and request metrics: one line and one observation per request, nothing when off.
//
// Rules: one line per request on the root logger with the request id (the request's own logger is made
// only when used); the route is the route table's decision and the user the principal's hash, never a
// token, cookie or query; a client that leaves before its answer is complete is logged once, as 499.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Logger } from 'pino';
import { clientOf, userOf } from '../auth/principal.js';
import { routedTo } from '../routing/table.js';
import type { Metrics } from './metrics.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The client left before its answer was complete (logged as 499 then, not again). */
    abandoned: boolean;
  }
}

async function accessLog(app: FastifyInstance, o: { logger: Logger; metrics: Metrics | null }) {
  const { logger, metrics } = o;
  const lines = logger.isLevelEnabled('info');
  if (!lines && !metrics) return;
  // The access line's fields are fixed and none is a secret, so it is written through a child without
  // redaction (same stream, serializers, hooks and output). The root's wildcard paths (`*.accessToken`,
  // ...) run a redactor over every top-level value of a line: 15-30x the cost of the line itself.
  const access = lines ? logger.child({}, { redact: [] }) : logger;
  const record = (request: FastifyRequest, status: number, ms: number) => {
    // (A request fastify refused itself, a malformed URL, never met the guard: the router's answer.)
    const route = (request.route ?? routedTo(request)).name;
    const client = clientOf(request.principal);
    metrics?.request(route, client ?? 'anonymous', status, ms / 1000);
    if (!lines) return;
    access.info(
      {
        requestId: request.id,
        method: request.method,
        route,
        path: request.canonicalPath,
        status,
        ms: Math.round(ms * 100) / 100,
        user: userOf(request.principal),
        client,
      },
      'request',
    );
  };
  app.decorateRequest('abandoned', false);
  app.addHook('onResponse', (request, reply, done) => {
    if (!request.abandoned) record(request, reply.statusCode, reply.elapsedTime);
    done();
  });
  // A client that leaves before its answer is complete gets no onResponse: logged as 499 (nginx's
  // "client closed request") so aborts and their timing are visible, once.
  app.addHook('onRequestAbort', (request, done) => {
    request.abandoned = true;
    record(request, 499, performance.now() - request.startedAt);
    done();
  });
}

export const accessLogStage = fp(accessLog, {
  name: 'authward-access-log',
  dependencies: ['authward-guard'],
});
