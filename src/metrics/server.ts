// The metrics endpoint on its own port, so it is never exposed through the proxied one by accident.
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Metrics } from './metrics.js';

export function serveMetrics(app: FastifyInstance, metrics: Metrics, cfg: Config['metrics']): void {
  const server = http.createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== cfg.path) {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    // HEAD (probes, uptime checkers): the GET's headers without the body (Node's response drops it).
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  // onReady, not onListen: fastify logs an onListen hook's error and runs on (without metrics); an
  // onReady error fails app.listen(), so a port that cannot be bound fails the start like the main one.
  app.addHook('onReady', async () => {
    await listenOrExplain(server, cfg);
    app.log.info(
      { event: 'metrics', port: (server.address() as { port: number }).port },
      'metrics listening',
    );
  });
  app.addHook('onClose', async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
}

/** Binds the metrics server; an error names metrics.port (the CLI prints it and exits 1). */
export function listenOrExplain(server: http.Server, cfg: Config['metrics']): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (err: Error) =>
      reject(new Error(`cannot serve metrics on metrics.port ${cfg.port} (${cfg.host}): ${err.message}`));
    server.once('error', failed);
    server.listen(cfg.port, cfg.host, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route name used in logs and metrics (token routes). */
    route?: string;
  }
}
