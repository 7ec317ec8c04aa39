// tokenCache: where each account's tokens are kept (memory or redis), their encryption and the L1 cache.
import { Type } from '@sinclair/typebox';
import { HostPort, Key32, Seconds, secret, strict } from './fields.js';

export const TokenCache = strict(
  {
    type: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      default: 'memory',
      description: '`memory` (single replica) or `redis` (shared by replicas).',
    }),
    url: Type.Optional(Type.String({ format: 'redis-url', description: '`redis://` or `rediss://` URL.' })),
    sentinels: Type.Optional(
      Type.Array(HostPort, { minItems: 1, description: 'Sentinel nodes (with `name`).' }),
    ),
    name: Type.Optional(Type.String({ minLength: 1, description: 'Sentinel master name.' })),
    cluster: Type.Optional(Type.Array(HostPort, { minItems: 1, description: 'Redis Cluster seed nodes.' })),
    username: Type.Optional(Type.String({ minLength: 1, description: 'Redis ACL user.' })),
    ...secret('password', Type.String({ minLength: 1, description: 'Redis password.' })),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'CA (PEM) for `rediss://`.' })),
    keyPrefix: Type.String({
      default: 'authward:',
      description: 'Prefix of every key, so apps can share a Redis.',
    }),
    ...secret(
      'encryptionKeys',
      Type.Array(Key32, { minItems: 1, description: 'AES-256-GCM keys: first encrypts.' }),
    ),
    ttl: Seconds(
      'Lifetime of a cache entry, sliding on each write (as long as a refresh token lives).',
      14 * 86400,
    ),
    maxEntries: Type.Integer({
      default: 100_000,
      minimum: 1,
      description: 'memory: most entries kept (least recently used go first); a signed-in user takes two.',
    }),
    connectTimeout: Seconds('Redis connect timeout.', 2, 60),
    commandTimeout: Seconds(
      'Redis command timeout. Once a command times out, every command fails at once (503, store reported down) until Redis answers a probe: a request waits for Redis at most this long.',
      1,
      60,
    ),
    l1Ttl: Seconds('Longest an access token is served from the in-process cache before rechecking.', 30, 300),
    renewWindow: Type.Number({
      default: 0.1,
      exclusiveMinimum: 0,
      maximum: 1,
      description:
        'Share of an access token’s lifetime, at its end, in which it is renewed instead of reused: at most 300 s, at least 5 s (or half a shorter life). 0.1 reuses a 60 s token for 54 s and a 1 h token for 55 min. 1 is MSAL’s fixed 300 s (tokens living 300 s or less are refreshed on every call).',
    }),
    l1MaxEntries: Type.Integer({
      default: 50_000,
      minimum: 1,
      description: 'In-process access-token cache size.',
    }),
  },
  'Where each account’s tokens are kept.',
);
