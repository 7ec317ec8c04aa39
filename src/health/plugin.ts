// /healthz (alive) and /readyz (ready to serve), answered before any auth.
import type { FastifyInstance } from 'fastify';
import { RETRY_AFTER_SECONDS } from '../pages/error-pages.js';
import type { Readiness } from './readiness.js';

export interface HealthOptions {
  livenessPath: string;
  readinessPath: string;
  readiness: Readiness;
}

export async function healthPlugin(app: FastifyInstance, opts: HealthOptions): Promise<void> {
  const noStore = { 'cache-control': 'no-store' };
  app.get(opts.livenessPath, { config: { public: true } }, async (_req, reply) => {
    reply.headers(noStore);
    return { status: 'alive' };
  });
  app.get(opts.readinessPath, { config: { public: true } }, async (_req, reply) => {
    reply.headers(noStore).code(opts.readiness.ready ? 200 : 503);
    // Starting or draining: a client that is not a load balancer learns when to ask again.
    if (!opts.readiness.ready) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    return opts.readiness.report();
  });
}
