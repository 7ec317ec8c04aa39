// SIGTERM on the real process under load: /readyz says 503 first, every accepted request completes, no
// accepted request sees a reset, and the process exits 0 within the grace period.
//
// 30 keep-alive clients send requests back to back (each held 100 ms by the upstream) before, during and
// after the signal: harsher than a load balancer, which stops once it notices /readyz. A request counts
// as accepted once authward has forwarded it (the upstream saw its request id) or answered it. Once
// draining, every answer closes its connection, so no client reuses one the server is about to close;
// what remains are connections the listener never read a request from as it closed (refused, or reset
// in the accept queue), which no server can answer.
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Client } from 'undici';
import { stringify } from 'yaml';
import { startCli } from '../cli/cli-process.js';
import { identityFor } from '../helpers/app.js';
import { rawConfig } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';

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
      logging: { level: 'warn' },
    }),
  ),
);
// warn: no access line per request.
const child = startCli(['--config', file]);
child.stdout?.resume();
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
  sentAt: number;
  ms: number;
  status?: number;
  /** The response's Connection header. */
  connection?: string;
  error?: string;
}

t.test('SIGTERM under load', async (t) => {
  const base = `http://127.0.0.1:${port}`;
  await until(async () => (await probe(base, '/readyz')).status === 200, 15_000, 'ready');

  const outcomes: Outcome[] = [];
  let stop = false;
  let n = 0;
  const worker = async (w: number) => {
    const client = new Client(base, { pipelining: 1, keepAliveTimeout: 60_000 });
    try {
      while (!stop) {
        const id = `w${w}-${n++}`;
        const sentAt = performance.now();
        try {
          const res = await client.request({
            path: `/slow?ms=${HOLD_MS}`,
            method: 'GET',
            headers: { 'x-request-id': id },
          });
          await res.body.text();
          const connection = String(res.headers.connection ?? '');
          outcomes.push({ id, sentAt, ms: performance.now() - sentAt, status: res.statusCode, connection });
        } catch (err) {
          const code = (err as { code?: string }).code ?? String(err);
          outcomes.push({ id, sentAt, ms: performance.now() - sentAt, error: code });
          if (code === 'ECONNREFUSED') return; // the listener is gone: this client is done
        }
      }
    } finally {
      await client.destroy();
    }
  };
  const workers = Array.from({ length: CLIENTS }, (_, w) => worker(w));
  await new Promise((r) => setTimeout(r, 1000));

  const sigtermAt = performance.now();
  child.kill('SIGTERM');
  // /readyz on fresh connections, every 50 ms, until the listener is gone.
  const readyz: { at: number; status?: number; error?: string }[] = [];
  for (;;) {
    const r = await probe(base, '/readyz');
    readyz.push({ at: performance.now() - sigtermAt, ...r });
    if (r.error) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  const [code, signal] = await exited;
  const exitMs = performance.now() - sigtermAt;
  stop = true;
  await Promise.all(workers);

  // ---- readiness first: 503 soon after the signal (the very first probe may beat the signal's
  // handling), then 503 until the listener closes, which is a whole delay later.
  const firstAt = readyz.findIndex((r) => r.status === 503);
  const first503 = readyz[firstAt];
  const served = readyz.filter((r) => r.status !== undefined);
  t.ok(
    first503 && first503.at < DELAY_S * 1000,
    `/readyz 503 ${Math.round(first503?.at ?? -1)} ms after SIGTERM`,
  );
  t.ok(
    readyz.slice(firstAt).every((r) => r.status === 503 || r.error),
    `then 503 on every probe until the listener closed (${served.length} probes answered)`,
  );
  const visibleFor = (served.at(-1)?.at ?? 0) - (first503?.at ?? 0);
  t.ok(
    visibleFor >= DELAY_S * 1000 * 0.8,
    `503 visible for ${Math.round(visibleFor)} ms before new connections were refused (delay ${DELAY_S} s)`,
  );

  // ---- the load
  const seen = new Set(upstream.requests.map((r) => r.headers['x-request-id']));
  const accepted = outcomes.filter((o) => o.status !== undefined || seen.has(o.id));
  const afterSignal = outcomes.filter((o) => o.sentAt >= sigtermAt);
  // Sent well inside the delay (a request sent at its very end may meet the closing server: a clean 503).
  const during = afterSignal.filter((o) => o.sentAt < sigtermAt + DELAY_S * 1000 * 0.8);
  const byKind = (list: Outcome[]) =>
    list.reduce<Record<string, number>>((acc, o) => {
      const k = o.error ?? String(o.status);
      acc[k] = (acc[k] ?? 0) + 1;
      return acc;
    }, {});
  t.comment(`all requests: ${JSON.stringify(byKind(outcomes))}`);
  t.comment(`sent after SIGTERM: ${JSON.stringify(byKind(afterSignal))}`);
  t.ok(outcomes.length > CLIENTS * 2, `${outcomes.length} requests`);
  t.ok(
    during.length >= CLIENTS / 2 && during.every((o) => o.status === 200),
    `during the delay all ${during.length} requests were served (200)`,
  );
  const failedAccepted = accepted.filter((o) => o.status !== 200 && o.status !== 503);
  t.same(failedAccepted, [], 'no accepted request failed (reset, cut or 5xx other than a clean 503)');
  const forwarded = upstream.requests.filter((r) => r.url.startsWith('/slow'));
  t.equal(
    forwarded.filter((r) => r.aborted).length,
    0,
    `every forwarded request completed (${forwarded.length})`,
  );
  // From the moment /readyz said 503 (the drain began), every answer closes its connection.
  const drainSeenAt = sigtermAt + (first503?.at ?? 0);
  const answeredAfter = outcomes.filter((o) => o.status !== undefined && o.sentAt > drainSeenAt);
  t.ok(
    answeredAfter.length > 0 && answeredAfter.every((o) => o.connection === 'close'),
    `once draining, every answer closes its connection (${answeredAfter.length}): no keep-alive reuse races the close`,
  );
  // Requests authward never read: refused, or reset in the accept queue as the listener closed. Only
  // then, never before: a load balancer has stopped sending by the time the delay is over.
  const notAccepted = outcomes.filter((o) => o.error);
  const closeAt = sigtermAt + DELAY_S * 1000;
  t.ok(
    notAccepted.every(
      (o) => (o.error === 'ECONNREFUSED' || o.error === 'ECONNRESET') && o.sentAt > closeAt - 200,
    ),
    `connection errors only as the listener closed, on requests never read (${JSON.stringify(byKind(notAccepted))})`,
  );

  // ---- the process
  t.equal(code, 0, `exit 0 (signal ${signal}) ${stderr}`);
  t.ok(exitMs < (DELAY_S + GRACE_S) * 1000, `exited ${Math.round(exitMs)} ms after SIGTERM`);
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
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
