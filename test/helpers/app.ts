// Starts authward on a free port in front of a test IdP and upstream: the harness most tests use.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import type { Store } from '../../src/token-cache/store.js';
import { rawConfig, testConfig } from './config.js';
import type { TestIdp } from './idp.js';
import { freePort } from './ports.js';

export interface TestApp {
  app: FastifyInstance;
  url: string;
  config: Config;
  close(): Promise<void>;
}

type Raw = Record<string, unknown>;

/** The identity section for a test IdP (secret client; mode decides protocol). */
export function identityFor(idp: TestIdp, extra: Raw = {}): Raw {
  return {
    protocol: idp.mode,
    authority: idp.authority,
    clientId: idp.clients.secret.clientId,
    clientSecret: idp.clients.secret.clientSecret,
    caFile: idp.caFile,
    ...extra,
  };
}

export async function startApp(opts: {
  idp: TestIdp;
  upstreamUrl: string;
  overrides?: Raw;
  store?: Store;
  /** A logger to read what the app logged (e.g. captureLogger in test/proxy/proxy-app.ts). */
  logger?: Logger;
  port?: number;
}): Promise<TestApp> {
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const over = opts.overrides ?? {};
  const config = testConfig({
    ...over,
    listen: { host: '127.0.0.1', port },
    publicUrl: url,
    identity: identityFor(opts.idp, (over.identity as Raw) ?? {}),
    upstream: { url: opts.upstreamUrl, ...((over.upstream as Raw) ?? {}) },
  });
  const app = await buildApp(config, {
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  await app.listen({ host: '127.0.0.1', port });
  await waitReady(app);
  return { app, url, config, close: () => app.close() };
}

/** Resolves once the app finished its own start-up (provider discovery). */
export async function waitReady(app: FastifyInstance, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!app.readiness.ready) {
    if (Date.now() > deadline) throw new Error(`app not ready: ${JSON.stringify(app.readiness.report())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { rawConfig };
