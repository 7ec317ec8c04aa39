// deprecated: use world.ts: startProxy(t, url, config, deps) is startWorld(t, { idp: false, public: true, upstream: { url }, config, ...deps }).
import type { Test } from 'tap';
import { type StartAppOptions, startWorld } from '../helpers/world.js';

export {
  captureLogger,
  dechunk,
  rawSocket as rawRequest,
  type SocketResponse as RawResponse,
} from '../helpers/world.js';
export const startProxy = (
  t: Test,
  url: string,
  config = {},
  deps: Pick<StartAppOptions, 'store' | 'logger'> = {},
) => startWorld(t, { idp: false, public: true, upstream: { url }, config, ...deps });
