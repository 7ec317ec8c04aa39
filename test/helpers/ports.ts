// Finds TCP ports on 127.0.0.1 for tests: free ones to listen on, and closed ones to get "connection refused".
// Moved to lab/ports.ts (shared with bench/ and soak/).
export * from '../../lab/ports.js';
