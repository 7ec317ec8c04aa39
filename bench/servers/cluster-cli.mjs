// authward's CLI in AUTHWARD_WORKERS (2) processes sharing one port through node:cluster: the multi-core
// experiment of the benchmark, run as `AUTHWARD_CLI=bench/servers/cluster-cli.mjs SCENARIOS="3 6 7"`.
// Redis scenarios only: with the memory cache each worker would hold its own sessions.
import cluster from 'node:cluster';

if (cluster.isPrimary) {
  const count = Number(process.env.AUTHWARD_WORKERS ?? 2);
  for (let i = 0; i < count; i++) cluster.fork(); // same argv: --config <file>
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    });
  }
  let alive = count;
  cluster.on('exit', () => {
    alive -= 1;
    if (alive === 0) process.exit(0);
  });
} else {
  await import(new URL('../../dist/cli.js', import.meta.url).href);
}
