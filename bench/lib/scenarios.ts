// What each scenario targets, which authward instance serves it, what is verified first, and the run order.
import type { Variant } from './authward.js';
import type { ScenarioId, Settings } from './settings.js';

export type Peer = 'backend' | 'nginx' | 'bare';
export type InstanceName = 'mem' | 'redis' | 'redis-nol1';

export interface ScenarioSpec {
  /** A peer system, or an authward instance. */
  peer?: Peer;
  instance?: InstanceName;
  /** public: no session; session: the default upstream; token: the bearer route; many: token, N sessions. */
  kind: 'peer' | 'public' | 'session' | 'token' | 'many';
  path: string;
  /** Needs the 100k accounts in Redis before it runs. */
  populated?: boolean;
  /** kind many: how many users sign in (default USERS). */
  users?: (s: Settings) => number;
}

export const INSTANCES: Record<InstanceName, Variant> = {
  mem: { name: 'mem', cache: 'memory' },
  redis: { name: 'redis', cache: 'redis' },
  // l1Ttl is an exclusiveMinimum-0 number of seconds: 1 ms means every request misses the L1.
  'redis-nol1': { name: 'redis-nol1', cache: 'redis', l1Ttl: 0.001 },
};

export const SPECS: Record<ScenarioId, ScenarioSpec> = {
  '1': { peer: 'backend', kind: 'peer', path: '/' },
  '2': { peer: 'nginx', kind: 'peer', path: '/' },
  '3': { peer: 'bare', kind: 'peer', path: '/' },
  '4': { instance: 'mem', kind: 'public', path: '/public/asset.css' },
  '5': { instance: 'mem', kind: 'session', path: '/' },
  '7m': { instance: 'mem', kind: 'token', path: '/api/' },
  '10': { instance: 'mem', kind: 'many', path: '/api/' },
  '6': { instance: 'redis', kind: 'session', path: '/' },
  '7': { instance: 'redis', kind: 'token', path: '/api/' },
  '8': { instance: 'redis-nol1', kind: 'token', path: '/api/' },
  '8u': { instance: 'redis-nol1', kind: 'many', path: '/api/', users: (s) => s.users8u },
  '9a': { instance: 'redis', kind: 'session', path: '/', populated: true },
  '9b': { instance: 'redis', kind: 'token', path: '/api/', populated: true },
};

/** Peers first, then one authward instance at a time (stopped after its last scenario), 9 after the fill. */
export const ORDER: ScenarioId[] = ['1', '2', '3', '4', '5', '7m', '10', '6', '7', '8', '8u', '9a', '9b'];

export function plan(selected: readonly ScenarioId[]): ScenarioId[] {
  return ORDER.filter((id) => selected.includes(id));
}

/** The index of the last planned scenario using the instance (to stop it right after). */
export function lastUse(planned: readonly ScenarioId[], instance: InstanceName): number {
  let last = -1;
  planned.forEach((id, i) => {
    if (SPECS[id].instance === instance) last = i;
  });
  return last;
}
