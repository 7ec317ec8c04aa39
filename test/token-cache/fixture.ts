// deprecated: use world.ts: startWorld(t, { idp, apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false }), w.start(), w.signIn().
import type { IdpOptions } from '../../lab/idp.js';
import type { Store } from '../../src/token-cache/store.js';
import { type Tap, type TestApp, type World, startWorld as world } from '../helpers/world.js';

export * from '../helpers/world.js';
export const startWorld = (t: Tap, idp: IdpOptions = {}) =>
  world(t, { idp, apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });
export const startReplica = (_t: Tap, w: World, o = {}, store?: Store) =>
  w.start({ publicRoutes: [{ path: '/public/*' }], ...o }, store ? { store } : {});
export const signedIn = (_t: Tap, w: World, app: TestApp, login: string) => w.signIn(login, { app });
