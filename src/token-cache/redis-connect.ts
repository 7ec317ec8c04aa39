// The ioredis client for tokenCache (standalone URL, Sentinel or Cluster): fail-fast options, TLS from caFile.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { TokenCacheConfig } from '../config/schema.js';
import type { StoreLogger } from './store.js';

/** Bounded reconnect backoff: quick first retries, then one attempt every 2 s for as long as it takes. */
export const backoff = (attempt: number) => Math.min(attempt * 100, 2000);

// Loaded only when a Redis cache is configured: ioredis costs a memory-cache sidecar ~7 MiB of RSS.
const ioredis = () => createRequire(import.meta.url)('ioredis') as typeof import('ioredis');

export function connect(cfg: TokenCacheConfig, logger: StoreLogger): Redis | Cluster {
  const { Cluster, Redis } = ioredis();
  const connectTimeout = toMs(cfg.connectTimeout * 1000);
  const commandTimeout = toMs(cfg.commandTimeout * 1000);
  const ca = cfg.caFile === undefined ? undefined : readFileSync(cfg.caFile);
  const common: RedisOptions = {
    connectTimeout,
    commandTimeout,
    // A socket silent past a command's whole budget is dead (frozen server, black-holed network):
    // drop it so reconnection (and Sentinel/Cluster rediscovery) starts instead of waiting on TCP keepalive.
    socketTimeout: connectTimeout + commandTimeout,
    // Fail fast: with no offline queue a command during an outage rejects at once instead of waiting.
    maxRetriesPerRequest: 1,
    // Never replay a write after reconnecting: the caller already saw it fail, and a late SET could
    // overwrite tokens another replica wrote meanwhile.
    autoResendUnfulfilledCommands: false,
    // After a failover the old master turns replica: reconnect (Sentinel then finds the new master).
    reconnectOnError: (err) => err.message.startsWith('READONLY'),
    ...(cfg.username === undefined ? {} : { username: cfg.username }),
    ...(cfg.password === undefined ? {} : { password: cfg.password }),
  };

  if (cfg.cluster !== undefined) {
    if (cfg.keyPrefix.includes('{')) {
      logger.warn(
        { event: 'token_store', keyPrefix: cfg.keyPrefix },
        'tokenCache.keyPrefix contains a hash tag: every key lands in one cluster slot',
      );
    }
    const options: ClusterOptions = {
      keyPrefix: cfg.keyPrefix,
      enableOfflineQueue: false,
      clusterRetryStrategy: backoff,
      slotsRefreshTimeout: connectTimeout,
      redisOptions: { ...common, ...(ca === undefined ? {} : { tls: { ca } }) },
    };
    return new Cluster(cfg.cluster, options);
  }

  const options: RedisOptions = {
    ...common,
    keyPrefix: cfg.keyPrefix,
    enableOfflineQueue: false,
    retryStrategy: backoff,
  };
  if (cfg.sentinels !== undefined) {
    return new Redis({
      ...options,
      sentinels: cfg.sentinels,
      ...(cfg.name === undefined ? {} : { name: cfg.name }),
      sentinelCommandTimeout: commandTimeout,
      // A CA file means TLS everywhere: to the sentinels and to the master they name.
      ...(ca === undefined ? {} : { tls: { ca }, sentinelTLS: { ca }, enableTLSForSentinelMode: true }),
    });
  }
  if (cfg.url === undefined) {
    throw new Error('tokenCache.type redis needs url, sentinels (with name) or cluster');
  }
  const url = new URL(cfg.url);
  // ioredis lets URL credentials win over options; the configured (file-resolved) ones must win.
  if (cfg.username !== undefined) url.username = '';
  if (cfg.password !== undefined) url.password = '';
  if (url.protocol === 'rediss:')
    return new Redis(url.toString(), { ...options, tls: ca === undefined ? {} : { ca } });
  if (ca !== undefined) {
    logger.warn({ event: 'token_store' }, 'tokenCache.caFile is ignored: the url is redis://, not rediss://');
  }
  return new Redis(url.toString(), options);
}

/** Whole milliseconds, at least 1 (Redis rejects PX 0 and ioredis treats a 0 timeout as none). */
export function toMs(ms: number): number {
  return Math.max(1, Math.round(ms));
}
