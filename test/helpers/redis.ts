// Launches throwaway real redis-server processes (single node or cluster) on free local ports for tests.
// Moved to lab/redis.ts (shared with bench/ and soak/).
export * from '../../lab/redis.js';
