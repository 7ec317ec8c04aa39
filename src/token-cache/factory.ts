// Picks the token store the config asks for; the rest of authward sees only the Store interface.
import type { TokenCacheConfig } from '../config/schema.js';
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { Store, StoreLogger } from './store.js';

export function createStore(cfg: TokenCacheConfig, logger: StoreLogger): Store {
  return cfg.type === 'redis' ? new RedisStore(cfg, logger) : new MemoryStore({ maxEntries: cfg.maxEntries });
}
