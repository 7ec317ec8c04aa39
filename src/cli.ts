#!/usr/bin/env node
// The process shell: arguments, config file, listen, signals, exit codes. Everything else is buildApp().
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Config } from './config/schema.js';
import { ConfigError } from './errors.js';

// The config loader and the proxy are imported only when needed: `keygen` and `--check-config` then
// start in a fraction of the time (init containers and CI run them).

const USAGE = `usage:
  authward [--config FILE]          run the proxy (or set AUTHWARD_CONFIG=FILE)
  authward --config FILE --check-config
                                    validate the file, print every problem, exit 0 or 1
  authward keygen                   print a fresh base64 32-byte key (session.keys, tokenCache.encryptionKeys)
  authward heap-flags               print node's heap flags for this container's memory limit (the image's CMD)
  authward --version                print the version and the Node.js running it`;

/** After a usage error: one line, the full text is --help's. */
const SHORT_USAGE =
  'usage: authward [--config FILE] [--check-config] | authward keygen | authward --version (more: authward --help)';

function usageError(problem: string): number {
  process.stderr.write(`authward: ${problem}\n${SHORT_USAGE}\n`);
  return 2;
}

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    return usageError(parseProblem(err as Error & { code?: string }));
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.values.version) {
    const { VERSION } = await import('./version.js');
    process.stdout.write(`authward ${VERSION} (Node.js ${process.version})\n`);
    return 0;
  }
  if (args.positionals[0] === 'heap-flags') {
    const { heapFlags } = await import('./heap.js');
    process.stdout.write(
      `${heapFlags(process.constrainedMemory?.(), process.env.NODE_OPTIONS ?? '').join(' ')}\n`,
    );
    return 0;
  }
  if (args.positionals[0] === 'keygen') {
    process.stdout.write(`${randomBytes(32).toString('base64')}\n`);
    return 0;
  }
  if (args.positionals.length > 0) return usageError(`unknown command ${args.positionals[0]}`);
  const file = args.values.config ?? process.env.AUTHWARD_CONFIG;
  if (!file) return usageError('no config file: pass --config FILE or set AUTHWARD_CONFIG');
  const [{ loadConfigFile, UnreadableConfigError }, { loadLayout }] = await Promise.all([
    import('./config/load.js'),
    import('./pages/templates.js'),
  ]);
  let config: Config;
  try {
    config = loadConfigFile(file);
    // The operator's page templates are config too: --check-config finds what the start would refuse.
    loadLayout(config.pages.templates);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // (A missing file's message names it already.)
    const where = err instanceof UnreadableConfigError ? '' : `${file}: `;
    process.stderr.write(`authward: ${where}${err.message}\n`);
    return 1;
  }
  if (args.values['check-config']) {
    process.stdout.write(`authward: ${file}: configuration is valid\n`);
    return 0;
  }

  const { createLogger } = await import('./logger.js');
  const logger = createLogger(
    config.logging.level,
    config.logging.pretty && process.stdout.isTTY === true,
    config.logging,
  );
  const { default: cluster } = await import('node:cluster');
  if (config.listen.workers > 1 && cluster.isPrimary) {
    const { runPrimary } = await import('./workers.js');
    return runPrimary(config, logger);
  }

  const [{ buildApp }, { default: closeWithGrace }, { keepTickShape }] = await Promise.all([
    import('./app.js'),
    import('close-with-grace'),
    import('./tick-shape.js'),
  ]);
  keepTickShape();
  // A cluster worker leaves metrics.port to the primary, which collects every worker's registry.
  const app = await buildApp(config, { logger, metricsServer: !cluster.isWorker });
  if (cluster.isWorker && app.metrics) {
    const { AggregatorRegistry } = await import('prom-client');
    AggregatorRegistry.setRegistries([app.metrics.registry]);
    new AggregatorRegistry(); // (in a worker, its constructor installs the answer to the primary's requests)
  }
  let shuttingDown = false;
  const grace = closeWithGrace(
    {
      delay: (config.shutdownDelaySeconds + config.shutdownGraceSeconds) * 1000,
      logger: { error: (m: unknown) => logger.error({ event: 'shutdown' }, String(m)) },
      // A worker drains when the primary says so (below): a terminal's Ctrl-C reaches the primary and
      // every worker at once, and close-with-grace takes a second signal as "exit now".
      ...(cluster.isWorker ? { skip: ['SIGINT'] } : {}),
    },
    async ({ signal, err }) => {
      shuttingDown = true;
      if (err) logger.error({ err, event: 'shutdown' }, 'shutting down after an error');
      else logger.info({ event: 'shutdown', signal }, 'shutting down: draining in-flight requests');
      app.readiness.drain();
      // From now on every answer closes its connection, so no client sends another request on a
      // keep-alive connection the server is about to close: that race resets the client's request
      // (ECONNRESET, never seen by authward) instead of letting it reconnect and reach another replica.
      app.server.prependListener('request', (_req, res) => {
        if (!res.headersSent) res.setHeader('connection', 'close');
      });
      if (config.shutdownDelaySeconds > 0) {
        await new Promise((resolve) => setTimeout(resolve, config.shutdownDelaySeconds * 1000));
      }
      // The moment new connections start being refused (tests measure the delay between the two lines).
      logger.info({ event: 'shutdown' }, 'shutting down: closing the listener');
      // server.close() ends the connections idle at that moment; a keep-alive connection whose request
      // finishes later stays open (clients hold it) and would keep the process up until the grace
      // period kills it with exit 1. So close each connection as soon as it falls idle.
      const sweep = setInterval(() => app.server.closeIdleConnections(), 100);
      try {
        await app.close();
      } finally {
        clearInterval(sweep);
      }
    },
  );
  if (cluster.isWorker) {
    const { SHUTDOWN_MESSAGE } = await import('./workers.js');
    process.on('SIGINT', () => undefined); // the primary's message follows
    process.on('message', (message) => {
      if (message === SHUTDOWN_MESSAGE && !shuttingDown) void grace.close();
    });
  }
  await app.listen({ host: config.listen.host, port: config.listen.port });
  return -1; // keep running
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'check-config': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'V' },
    },
  });
}

/** parseArgs' error in a few words (its own messages run to three sentences of advice). */
function parseProblem(err: Error & { code?: string }): string {
  const option = /'(-[^',]*)(?:, (--[^' <]+))?/.exec(err.message);
  const name = option?.[2] ?? option?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && name) return `unknown option ${name}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && name) return `${name} needs a value`;
  return err.message;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`authward: failed to start: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
