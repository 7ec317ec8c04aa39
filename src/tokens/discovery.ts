// Discovery at start, retried with backoff: a provider that is down at start leaves the replica unready, not crashing.
import type { Logger } from 'pino';
import type { Readiness } from '../health/readiness.js';
import type { Discovery, Provider } from './provider.js';

export function discoverWithRetry(
  provider: Provider,
  readiness: Readiness,
  logger: Logger,
  onReady: (doc: Discovery) => void,
): () => void {
  const done = readiness.require('provider discovery');
  let delay = 1000;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const attempt = async () => {
    try {
      const doc = await provider.discover();
      if (stopped) return;
      onReady(doc);
      readiness.setDependency('provider', 'up');
      done();
      logger.info({ event: 'discovery', issuer: doc.issuer }, 'provider discovery loaded');
    } catch (err) {
      if (stopped) return;
      readiness.setDependency('provider', 'down', (err as Error).message);
      // Jittered: replicas that all started against a provider that was down do not retry in lockstep.
      const wait = Math.round(delay * (0.5 + Math.random() / 2));
      logger.error({ event: 'discovery_failed' }, `${(err as Error).message}; retrying in ${wait / 1000} s`);
      timer = setTimeout(attempt, wait);
      timer.unref();
      delay = Math.min(delay * 2, 30_000);
    }
  };
  void attempt();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
