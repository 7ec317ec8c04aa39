// A real HTTP(S) + WebSocket echo server standing in for the upstream behind the proxy in tests.
// Moved to lab/upstream.ts (shared with bench/ and soak/).
export * from '../../lab/upstream.js';
