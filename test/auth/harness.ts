// deprecated: use world.ts (these parts live in test/helpers/{raw,capture,stores,requests}.ts). Kept for tests not yet moved.
export {
  authorizeOnly,
  CapturingBrowser,
  KeyedStore,
  type RawResponse,
  rawRequest,
  setCookieValue,
  sleep,
} from '../helpers/world.js';
