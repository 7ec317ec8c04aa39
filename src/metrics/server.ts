// The metrics endpoint on its own port, so it is never exposed through the proxied one by accident.
import http from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/schema.js';
import type { Metrics } from './metrics.js';

export function serveMetrics(app: FastifyInstance, metrics: Metrics, cfg: Config['metrics']): void {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== cfg.path) {
      res.writeHead(404).end();
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  app.addHook('onListen', async () => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(cfg.port, cfg.host, () => resolve());
    });
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

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route name used in logs and metrics (token routes). */
    route?: string;
  }
}
