// deprecated: use world.ts (startWorld, or its startApp for one instance). Kept for tests not yet moved.
export { identityFor, rawConfig, startApp, type TestApp, waitReady } from './world.js';
