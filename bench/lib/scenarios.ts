// What each scenario targets, which authward instance serves it, and the order they are measured in.
//
// Every instance a run needs is up for the whole run (an idle one costs nothing), so rounds can
// interleave all scenarios: on a shared machine, measuring 3 and 7 minutes apart is what makes
// ratios unreliable. Scenario 9's instance has its own Redis, filled before the rounds.
import type { Variant } from './authward.js';
import { ALL_SCENARIOS, type ScenarioId, type Settings } from './settings.js';

export type Peer = 'backend' | 'nginx' | 'bare' | 'nginx-fwd';
export type InstanceName =
  | 'mem'
  | 'mem-many'
  | 'redis'
  | 'redis-full'
  | 'redis-nol1'
  | 'mem-api'
  | 'redis-api'
  | 'fwd';

export interface ScenarioSpec {
  /** A peer system, or an authward instance. */
  peer?: Peer;
  instance?: InstanceName;
  /**
   * public: no session; session: the default upstream; token: the bearer route; many: token, N sessions;
   * api: an API client's bearer token, default upstream; obo: the same on the bearer route (on-behalf-of);
   * forward / forward-token: nginx with auth_request in front, session, default upstream / forwardAuth route.
   */
  kind: 'peer' | 'public' | 'session' | 'token' | 'many' | 'api' | 'obo' | 'forward' | 'forward-token';
  path: string;
  /** kind many: how many users sign in (default USERS). */
  users?: (s: Settings) => number;
}

export interface InstanceSpec extends Variant {
  /** Node's heap flags as the image sets them for a container limit of this many MiB (none: V8's defaults). */
  heapLimitMiB?: number;
  /** Which Redis server (redis variants): the plain one, or the one holding ACCOUNTS other accounts. */
  redis?: 'main' | 'full';
}

export const INSTANCES: Record<InstanceName, InstanceSpec> = {
  mem: { name: 'mem', cache: 'memory' },
  // Scenario 10's sessions get their own replica, so 4, 5 and 7m measure one without them.
  // As the image runs it in the sidecar's 256 MiB limit (`authward heap-flags`, docs/deployment.md).
  'mem-many': { name: 'mem-many', cache: 'memory', heapLimitMiB: 256 },
  redis: { name: 'redis', cache: 'redis', redis: 'main' },
  'redis-full': { name: 'redis-full', cache: 'redis', redis: 'full' },
  // l1Ttl is an exclusiveMinimum-0 number of seconds: 1 ms means every request misses the L1.
  'redis-nol1': { name: 'redis-nol1', cache: 'redis', l1Ttl: 0.001, redis: 'main' },
  // 5 and 7's twins with apiClients on: 11a/11b's callers send a bearer token instead of the cookie.
  'mem-api': { name: 'mem-api', cache: 'memory', apiClients: true },
  'redis-api': { name: 'redis-api', cache: 'redis', apiClients: true, redis: 'main' },
  // Behind nginx (auth_request): publicUrl is nginx's address, sessions are signed in through it.
  fwd: { name: 'fwd', cache: 'memory', forwardAuth: true },
};

export const SPECS: Record<ScenarioId, ScenarioSpec> = {
  '1': { peer: 'backend', kind: 'peer', path: '/' },
  '2': { peer: 'nginx', kind: 'peer', path: '/' },
  '3': { peer: 'bare', kind: 'peer', path: '/' },
  '4': { instance: 'mem', kind: 'public', path: '/public/asset.css' },
  '5': { instance: 'mem', kind: 'session', path: '/' },
  '6': { instance: 'redis', kind: 'session', path: '/' },
  '7': { instance: 'redis', kind: 'token', path: '/api/' },
  '7m': { instance: 'mem', kind: 'token', path: '/api/' },
  '8': { instance: 'redis-nol1', kind: 'token', path: '/api/' },
  '8u': { instance: 'redis-nol1', kind: 'many', path: '/api/', users: (s) => s.users8u },
  '9a': { instance: 'redis-full', kind: 'session', path: '/' },
  '9b': { instance: 'redis-full', kind: 'token', path: '/api/' },
  '10': { instance: 'mem-many', kind: 'many', path: '/api/' },
  '11a': { instance: 'mem-api', kind: 'api', path: '/' },
  '11b': { instance: 'redis-api', kind: 'obo', path: '/api/' },
  '12a': { instance: 'fwd', kind: 'forward', path: '/' },
  '12b': { instance: 'fwd', kind: 'forward-token', path: '/api/orders/' },
};

/** The default set, each extra right after the scenario it varies (7m after 7, 8u after 8). */
export const ORDER: ScenarioId[] = ALL_SCENARIOS.flatMap((id): ScenarioId[] =>
  id === '7' ? ['7', '7m'] : id === '8' ? ['8', '8u'] : [id],
);

export function plan(selected: readonly ScenarioId[]): ScenarioId[] {
  return ORDER.filter((id) => selected.includes(id));
}

/** Round r's order: the plan rotated, so no scenario always runs first or right after another. */
export function rotated<T>(items: readonly T[], round: number, rounds: number): T[] {
  if (items.length === 0) return [];
  const shift = Math.floor((round * items.length) / Math.max(1, rounds)) % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}
