// A real OpenID provider for tests: oidc-provider over HTTPS on 127.0.0.1, shaped like a generic OP or an Entra tenant.
// Moved to lab/idp.ts (shared with bench/ and soak/).
export * from '../../lab/idp.js';
