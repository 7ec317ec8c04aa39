// A real downstream API: verifies every bearer token it receives (JWKS signature, iss, aud, scope, expiry).
// Moved to lab/api.ts (shared with bench/ and soak/).
export * from '../../lab/api.js';
