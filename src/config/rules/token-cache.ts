// Cross-field rules for tokenCache: redis needs one connection kind and encryption keys; workers need redis.
import type { Config } from '../schema.js';

export function tokenCacheRules(c: Config): string[] {
  const problems: string[] = [];
  const tc = c.tokenCache;
  if (c.listen.workers > 1 && tc.type !== 'redis') {
    problems.push(
      `listen.workers: more than 1 needs tokenCache.type redis (workers share sessions and tokens only through it), got ${c.listen.workers} with ${tc.type}`,
    );
  }
  if (tc.type === 'redis') {
    const given = [tc.url && 'url', tc.sentinels && 'sentinels', tc.cluster && 'cluster'].filter(Boolean);
    if (given.length !== 1) {
      problems.push(
        `tokenCache: type redis needs exactly one of url, sentinels (with name) or cluster, got ${given.join(' and ') || 'none'}`,
      );
    }
    if (tc.sentinels && !tc.name)
      problems.push('tokenCache.name: is required with sentinels (the master name)');
    if (!tc.encryptionKeys) {
      problems.push('tokenCache.encryptionKeys: is required for type redis (tokens are encrypted at rest)');
    }
  }

  return problems;
}
