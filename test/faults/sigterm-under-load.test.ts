// SIGTERM on the real process under load: /readyz says 503 first, every accepted request completes, no
// accepted request sees a reset, and the process exits 0 within the grace period.
//
// 30 keep-alive clients send requests back to back (each held 100 ms by the upstream) before, during and
// after the signal: harsher than a load balancer, which stops once it notices /readyz. A request counts
// as accepted once authward has forwarded it (the upstream saw its request id) or answered it. Once
// draining, every answer closes its connection, so no client reuses one the server is about to close;
// what remains are connections the listener never read a request from as it closed (refused, or reset
// in the accept queue), which no server can answer.
//
// Timed by the process's own log lines (drain begun, listener closing; pino `time`, the system clock the
// test reads too), never by how fast this machine runs: every rule below holds however late a probe or
// a request is scheduled.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Client } from 'undici';
import { stringify } from 'yaml';
import { startCli } from '../cli/cli-process.js';
import { rawConfig } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';
import { identityFor } from '../helpers/world.js';

const CLIENTS = 30;
const DELAY_S = 1;
const GRACE_S = 5;
const HOLD_MS = 100;

const idp = await startIdp();
t.teardown(() => idp.close());
const upstream = await startUpstream();
t.teardown(() => upstream.close());

const port = await freePort();
const file = join(t.testdir(), 'authward.yaml');
writeFileSync(
  file,
  stringify(
    rawConfig({
      listen: { host: '127.0.0.1', port },
      identity: identityFor(idp),
      publicRoutes: [{ path: '/*' }],
      upstream: { url: upstream.url },
      shutdownDelaySeconds: DELAY_S,
      shutdownGraceSeconds: GRACE_S,
      logging: { level: 'info' },
    }),
  ),
);
const child = startCli(['--config', file]);
/** The shutdown lines the process logged (info: one access line per request too, skipped here). */
const shutdownLog: { time: number; msg: string }[] = [];
let pending = '';
child.stdout?.setEncoding('utf8');
child.stdout?.on('data', (chunk: string) => {
  const lines = (pending + chunk).split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    if (!line.includes('"event":"shutdown"')) continue;
    const { time, msg } = JSON.parse(line) as { time: number; msg: string };
    shutdownLog.push({ time, msg });
  }
});
t.teardown(() => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
let stderr = '';
child.stderr?.on('data', (c) => {
  stderr += c;
});
const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

interface Outcome {
  id: string;
  /** Epoch ms (Date.now(), the clock of the process's log lines). */
  sentAt: number;
  endAt: number;
  status?: number;
  /** The response's Connection header. */
  connection?: string;
  error?: string;
}

t.test('SIGTERM under load', async (t) => {
  const base = `http://127.0.0.1:${port}`;
  // However long a busy machine takes to start it (the bound only turns a hang into a failure).
  await until(async () => (await probe(base, '/readyz')).status === 200, 120_000, 'ready');

  const outcomes: Outcome[] = [];
  const done = new Array<number>(CLIENTS).fill(0);
  let stop = false;
  let n = 0;
  const worker = async (w: number) => {
    const client = new Client(base, { pipelining: 1, keepAliveTimeout: 60_000 });
    try {
      while (!stop) {
        const id = `w${w}-${n++}`;
        const sentAt = Date.now();
        try {
          const res = await client.request({
            path: `/slow?ms=${HOLD_MS}`,
            method: 'GET',
            headers: { 'x-request-id': id },
          });
          await res.body.text();
          const connection = String(res.headers.connection ?? '');
          outcomes.push({ id, sentAt, endAt: Date.now(), status: res.statusCode, connection });
        } catch (err) {
          const code = (err as { code?: string }).code ?? String(err);
          outcomes.push({ id, sentAt, endAt: Date.now(), error: code });
          if (code === 'ECONNREFUSED') return; // the listener is gone: this client is done
        }
        done[w] = (done[w] ?? 0) + 1;
      }
    } finally {
      await client.destroy();
    }
  };
  const workers = Array.from({ length: CLIENTS }, (_, w) => worker(w));
  // Under load: every client has had two requests answered (a keep-alive connection in use).
  await until(async () => done.every((d) => d >= 2), 120_000, 'every client to be under way');

  child.kill('SIGTERM');
  // /readyz on fresh connections, every 50 ms, until the listener is gone.
  const readyz: { sentAt: number; status?: number; error?: string }[] = [];
  for (;;) {
    const sentAt = Date.now();
    const r = await probe(base, '/readyz');
    readyz.push({ sentAt, ...r });
    if (r.error) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  const [code, signal] = await exited;
  stop = true;
  await Promise.all(workers);

  // ---- the process's own account: the drain began, then the listener closed a whole delay later.
  const drainAt = shutdownLog.find((l) => l.msg.startsWith('shutting down: draining'))?.time ?? Number.NaN;
  const closeAt =
    shutdownLog.find((l) => l.msg === 'shutting down: closing the listener')?.time ?? Number.NaN;
  t.ok(
    // Two clocks at millisecond resolution (the timer's and Date.now()): up to 2 ms of rounding.
    closeAt - drainAt >= DELAY_S * 1000 - 2,
    `the listener closed ${closeAt - drainAt} ms after the drain began (delay ${DELAY_S} s)`,
  );

  // ---- readiness first: 503 for every probe sent once the drain began, and no 200 after a 503.
  const served = readyz.filter((r) => r.status !== undefined);
  const firstAt = readyz.findIndex((r) => r.status === 503);
  t.ok(firstAt >= 0, `/readyz said 503 before the listener closed (${served.length} probes answered)`);
  t.same(
    served.filter((r) => r.sentAt > drainAt && r.status !== 503),
    [],
    'every probe sent after the drain began: 503',
  );
  t.ok(
    readyz.slice(firstAt).every((r) => r.status === 503 || r.error),
    'then 503 on every probe until the listener closed',
  );

  // ---- the load
  const seen = new Set(upstream.requests.map((r) => r.headers['x-request-id']));
  const accepted = outcomes.filter((o) => o.status !== undefined || seen.has(o.id));
  const afterDrain = outcomes.filter((o) => o.sentAt > drainAt);
  const byKind = (list: Outcome[]) =>
    list.reduce<Record<string, number>>((acc, o) => {
      const k = o.error ?? String(o.status);
      acc[k] = (acc[k] ?? 0) + 1;
      return acc;
    }, {});
  t.comment(`all requests: ${JSON.stringify(byKind(outcomes))}`);
  t.comment(`sent after the drain began: ${JSON.stringify(byKind(afterDrain))}`);
  t.ok(outcomes.length > CLIENTS * 2, `${outcomes.length} requests`);
  // Until the listener closes, authward serves: a 503 can only come from the closing server.
  t.same(
    outcomes.filter((o) => o.status !== undefined && o.status !== 200 && o.endAt < closeAt),
    [],
    'every request answered before the listener closed: 200',
  );
  const servedDuring = afterDrain.filter((o) => o.status === 200 && o.endAt < closeAt);
  t.ok(servedDuring.length > 0, `requests sent during the delay were served (${servedDuring.length})`);
  const failedAccepted = accepted.filter((o) => o.status !== 200 && o.status !== 503);
  t.same(failedAccepted, [], 'no accepted request failed (reset, cut or 5xx other than a clean 503)');
  const forwarded = upstream.requests.filter((r) => r.url.startsWith('/slow'));
  t.equal(
    forwarded.filter((r) => r.aborted).length,
    0,
    `every forwarded request completed (${forwarded.length})`,
  );
  // From the moment the drain began, every answer closes its connection.
  const answeredAfter = afterDrain.filter((o) => o.status !== undefined);
  t.ok(
    answeredAfter.length > 0 && answeredAfter.every((o) => o.connection === 'close'),
    `once draining, every answer closes its connection (${answeredAfter.length}): no keep-alive reuse races the close`,
  );
  // Requests authward never read: refused, or reset in the accept queue as the listener closed. Only
  // then, never before: a load balancer has stopped sending by the time the delay is over.
  const notAccepted = outcomes.filter((o) => o.error);
  t.same(
    notAccepted.filter(
      (o) => (o.error !== 'ECONNREFUSED' && o.error !== 'ECONNRESET') || seen.has(o.id) || o.endAt < closeAt,
    ),
    [],
    `connection errors only once the listener closed, on requests never read (${JSON.stringify(byKind(notAccepted))})`,
  );

  // ---- the process: exit 0 means within the grace period (close-with-grace exits 1 when it runs out).
  t.equal(code, 0, `exit 0 (signal ${signal}) ${stderr}`);
});

async function probe(base: string, path: string): Promise<{ status?: number; error?: string }> {
  const client = new Client(base);
  try {
    const res = await client.request({ path, method: 'GET', headers: { connection: 'close' } });
    await res.body.dump();
    return { status: res.statusCode };
  } catch (err) {
    return { error: (err as { code?: string }).code ?? String(err) };
  } finally {
    await client.destroy();
  }
}

async function until(check: () => Promise<boolean>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline || child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`gave up waiting for ${what} (exit ${child.exitCode ?? child.signalCode}): ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
