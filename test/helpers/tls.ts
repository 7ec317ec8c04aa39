// Test-time X.509 material: a throwaway CA, server certificates it signs, and self-signed client certificates.
// Moved to lab/tls.ts (shared with bench/ and soak/).
export * from '../../lab/tls.js';
