// Test configs: a complete, valid config with overrides merged in, validated like the real loader does.
import { randomBytes } from 'node:crypto';
import type { Config } from '../src/config/schema.js';
import { validateConfig } from '../src/config/validate.js';
import { ConfigError } from '../src/errors.js';

type Raw = Record<string, unknown>;

export const newKey = () => randomBytes(32).toString('base64');

/** A raw (unvalidated) config: change it freely, then validateConfig() it or write it as YAML. */
export function rawConfig(overrides: Raw = {}): Raw {
  const base: Raw = {
    listen: { host: '127.0.0.1', port: 0 },
    publicUrl: 'http://127.0.0.1:8080',
    identity: {
      protocol: 'oidc',
      authority: 'https://127.0.0.1:1',
      clientId: 'test-client',
      clientSecret: 'test-secret',
    },
    session: { keys: [newKey()] },
    upstream: { url: 'http://127.0.0.1:1' },
    logging: { level: 'silent' },
    metrics: { enabled: false },
  };
  return mergeRaw(base, overrides);
}

export function testConfig(overrides: Raw = {}): Config {
  return validateConfig(rawConfig(overrides));
}

/** The config check's problem lines for rawConfig(overrides) ([] when it is valid). */
export function configProblems(overrides: Raw = {}): string[] {
  try {
    testConfig(overrides);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

/** Deep merge of raw config: objects merge, arrays and values replace. */
export function mergeRaw(a: Raw, b: Raw): Raw {
  const out: Raw = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)
        ? mergeRaw(cur as Raw, v as Raw)
        : v;
  }
  return out;
}
