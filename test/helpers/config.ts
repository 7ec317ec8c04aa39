// Test configs: a complete, valid config with overrides merged in, validated like the real loader does.
// Moved to lab/config.ts (shared with bench/ and soak/).
export * from '../../lab/config.js';
