// A metrics.port that cannot be bound is a failed start, like the main port: exit non-zero with a clear
// message. It used to log `listen EADDRINUSE` once and run on, ready, without metrics.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { runCli } from '../cli/cli-process.js';
import { newKey, rawConfig } from '../helpers/config.js';
import { closedPort, freePort } from '../helpers/ports.js';

// Something else holds the metrics port.
const holder = createServer();
holder.listen(0, '127.0.0.1');
await once(holder, 'listening');
t.teardown(() => holder.close());
const taken = (holder.address() as { port: number }).port;
const dir = t.testdir();

async function configFile(name: string, overrides: Record<string, unknown>): Promise<string> {
  const file = join(dir, name);
  const config = rawConfig({
    listen: { host: '127.0.0.1', port: await freePort() },
    metrics: { enabled: true, host: '127.0.0.1', port: taken },
    logging: { level: 'info' },
    ...overrides,
  });
  writeFileSync(file, stringify(config));
  return file;
}

// 60 s is a failure deadline (before the fix the process never exited), not a margin.
for (const [what, overrides] of [
  ['one process', {}],
  [
    'listen.workers: 2 (the primary serves metrics)',
    {
      listen: { host: '127.0.0.1', port: 0, workers: 2 },
      tokenCache: { type: 'redis', url: 'redis://127.0.0.1:1', encryptionKeys: [newKey()] },
    },
  ],
] as const) {
  t.test(`${what}: metrics port in use fails the start`, async (t) => {
    const o = overrides as Record<string, unknown>;
    if (o.listen) (o.listen as { port: number }).port = await closedPort();
    const file = await configFile(`${what.split(' ')[0]}.yaml`, o);
    const res = await runCli(['--config', file], {}, 60_000);
    t.notMatch(res.stdout, /shutting down/, 'it exited by itself, not at the deadline’s SIGTERM');
    t.equal(res.code, 1, 'exit 1');
    t.match(res.stderr, /metrics\.port/, 'the message names metrics.port');
    t.match(res.stderr, new RegExp(`EADDRINUSE.*${taken}|${taken}.*EADDRINUSE`), 'and says it is in use');
    t.notMatch(res.stderr, /\n\s+at /, 'no stack trace');
  });
}
