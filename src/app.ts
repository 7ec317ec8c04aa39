// buildApp(config): the request pipeline, one stage a line, in the order a request meets them.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { BadRequestError } from './errors.js';
import { healthPlugin } from './health/plugin.js';
import { Readiness } from './health/readiness.js';
import { createLogger } from './logger.js';
import { canonicalPath } from './proxy/canonical-path.js';
import { forwardPlugin } from './proxy/forward.js';
import { errorHandler } from './responses.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Decoded, dot-segment-free path (no query): what routing, auth and route choice use. */
    canonicalPath: string;
  }
}

export interface AppDeps {
  logger?: Logger;
  readiness?: Readiness;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const readiness = deps.readiness ?? new Readiness();
  const logger = deps.logger ?? createLogger(config.logging.level, config.logging.pretty);
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    disableRequestLogging: true, // one access line per request, written in onResponse below
    trustProxy: config.trustProxy as boolean | string[],
    genReqId: (req) => {
      const id = req.headers['x-request-id'];
      return typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID();
    },
    requestIdLogLabel: 'requestId',
    return503OnClosing: true,
    forceCloseConnections: false,
    routerOptions: { maxParamLength: 2048 },
  });
  app.decorate('readiness', readiness);
  app.decorateRequest('canonicalPath', '');

  // 1. One canonical path, or 400: nothing downstream ever sees an ambiguous one.
  app.addHook('onRequest', async (request) => {
    const result = canonicalPath(request.url);
    if ('error' in result) throw new BadRequestError(result.error);
    request.canonicalPath = result.path;
  });
  // 2. Access log: one line per request, cheap when the level is above info.
  if (logger.isLevelEnabled('info')) {
    app.addHook('onResponse', async (request, reply) => {
      request.log.info(
        {
          method: request.method,
          path: request.canonicalPath,
          status: reply.statusCode,
          ms: reply.elapsedTime,
        },
        'request',
      );
    });
  }
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: 'not_found', message: 'not found', requestId: request.id });
  });

  // 3. Health probes: before auth, never proxied.
  await app.register(healthPlugin, { ...config.health, readiness });
  // 4. Everything else: the default upstream.
  await app.register(forwardPlugin, {
    prefix: '',
    target: config.upstream.url,
    timeoutSeconds: config.upstream.timeout,
    caFile: config.upstream.caFile,
    websocket: true,
    context: (request) => forwardContext(request),
  });
  return app;
}

/** X-Forwarded-* as authward vouches for them (fastify applies trustProxy to ips, protocol and host). */
export function forwardContext(request: FastifyRequest) {
  return {
    forwardedFor: request.ips ? [...request.ips].reverse().join(', ') : request.ip,
    proto: request.protocol,
    host: request.host,
    requestId: request.id,
    ownCookie: () => false,
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness;
  }
}
