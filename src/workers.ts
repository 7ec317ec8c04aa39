// listen.workers > 1: this process, the cluster primary, starts the workers that serve the port (one
// core each), starts another when one dies, serves the metrics of all of them on metrics.port, and on
// SIGTERM/SIGINT has each drain as a single process would (cli.ts), then exits with them.
//
// Workers share nothing but the token store (the config requires Redis): a session and its tokens are
// valid on every worker, and each worker keeps its own in-process caches, as replicas do.
import cluster, { type Worker } from 'node:cluster';
import http from 'node:http';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { Config } from './config/schema.js';
import { listenOrExplain } from './metrics/server.js';
import { RETRY_AFTER_SECONDS } from './pages/error-pages.js';

/** The message that asks a worker to drain and exit (a signal might reach it twice: see cli.ts). */
export const SHUTDOWN_MESSAGE = 'authward:shutdown';

const MAX_RESTART_DELAY_MS = 30_000;
const STABLE_AFTER_MS = 60_000;

/**
 * Runs the primary until its workers have exited after a shutdown; resolves with the exit code. Rejects
 * before starting any worker if metrics.port cannot be bound (a failed start, as for one process).
 */
export async function runPrimary(config: Config, logger: Logger): Promise<number> {
  const metrics = config.metrics.enabled ? await serveClusterMetrics(config.metrics, logger) : undefined;
  const wanted = config.listen.workers;
  let stopping = false;
  let failed = false;
  let restartDelay = 1000;

  const listening = new WeakSet<Worker>();
  const fork = () => {
    const worker = cluster.fork();
    const startedAt = Date.now();
    worker.once('listening', () => {
      listening.add(worker);
      logger.info({ event: 'worker_listening', worker: worker.process.pid }, 'worker listening');
    });
    worker.on('exit', (code, signal) => {
      if (stopping) {
        // A worker still starting was stopped without serving anything; one that served must drain.
        if (code !== 0 && listening.has(worker)) failed = true;
        return;
      }
      // A worker that ran a while had a bug or was killed (OOM); one that dies at once would crash-loop.
      if (Date.now() - startedAt > STABLE_AFTER_MS) restartDelay = 1000;
      logger.error(
        { event: 'worker_exit', worker: worker.process.pid, code, signal },
        `worker exited; starting another in ${restartDelay / 1000} s`,
      );
      setTimeout(() => {
        if (!stopping) fork();
      }, restartDelay);
      restartDelay = Math.min(restartDelay * 2, MAX_RESTART_DELAY_MS);
    });
  };
  for (let i = 0; i < wanted; i++) fork();
  logger.info({ event: 'workers', workers: wanted }, `started ${wanted} workers`);

  return new Promise((resolve) => {
    const workers = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const finish = () => {
      clearTimeout(hardStop);
      metrics?.close();
      resolve(failed ? 1 : 0);
    };
    let hardStop: NodeJS.Timeout | undefined;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ event: 'shutdown', signal }, `shutting down: ${workers().length} workers draining`);
      for (const w of workers()) {
        // One still starting has not installed its handler yet, and serves nothing: it just stops.
        if (listening.has(w) && w.isConnected()) w.send(SHUTDOWN_MESSAGE);
        else w.process.kill('SIGKILL');
      }
      // Each worker has its own grace period; this only catches one that hangs past it.
      hardStop = setTimeout(
        () => {
          for (const w of workers()) w.process.kill('SIGKILL');
        },
        (config.shutdownDelaySeconds + config.shutdownGraceSeconds + 5) * 1000,
      );
      if (workers().length === 0) finish();
    };
    cluster.on('exit', () => {
      if (stopping && workers().length === 0) finish();
    });
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/** metrics.port for the whole cluster: each scrape asks every worker for its registry and adds them up. */
async function serveClusterMetrics(cfg: Config['metrics'], logger: Logger): Promise<http.Server> {
  const aggregator = new AggregatorRegistry();
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== cfg.path) {
      res.writeHead(404).end();
      return;
    }
    aggregator.clusterMetrics().then(
      (body) => res.writeHead(200, { 'content-type': aggregator.contentType }).end(body),
      (err: Error) => {
        // A worker that did not answer in time (prom-client waits 5 s), or one starting up.
        logger.warn({ event: 'metrics', err }, 'cluster metrics incomplete');
        res.writeHead(503, { 'retry-after': String(RETRY_AFTER_SECONDS) }).end();
      },
    );
  });
  await listenOrExplain(server, cfg);
  server.on('error', (err) => logger.error({ event: 'metrics', err }, 'metrics server failed'));
  logger.info({ event: 'metrics', port: (server.address() as { port: number }).port }, 'metrics listening');
  return server;
}
