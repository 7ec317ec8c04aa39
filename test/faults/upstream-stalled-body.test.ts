// An upstream that stops sending mid-body: the response is cut after upstream.timeout of silence, never held forever.
//
// The bound is on silence, not on the whole response: a body that keeps moving (a long download, server-sent
// events with gaps shorter than the timeout) is never cut, however long it runs.
import t from 'tap';
import { request } from 'undici';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { startWorld } from '../helpers/world.js';

const TIMEOUT_S = 1;
const TOTAL = 20 * 1024 * 1024;
// The cut must wait for upstream.timeout, so it is short; the upper bound only tells "cut by the timeout"
// from "held forever", so it is loose: a loaded machine only makes things slower.
const SLACK_MS = 30_000;

const upstream = await startUpstream();
t.teardown(() => upstream.close());
const fp = await startFaultProxy({ target: { port: upstream.port } });
t.teardown(() => fp.close());
const proxy = await startWorld(t, {
  idp: false,
  public: true,
  upstream: { url: `http://127.0.0.1:${fp.port}` },
  config: { upstream: { timeout: TIMEOUT_S } },
});

t.test('stalled mid-body: the client sees a cut response within the timeout', async (t) => {
  const res = await request(`${proxy.url}/download?bytes=${TOTAL}`);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-length'], String(TOTAL));
  let received = 0;
  let stalledAt = 0;
  const outcome = await new Promise<{ error?: string; ms: number }>((resolve) => {
    // A deadline of our own: without a bound in the proxy this would wait forever.
    const deadline = setTimeout(
      () => resolve({ ms: Number.POSITIVE_INFINITY }),
      TIMEOUT_S * 1000 + 2 * SLACK_MS,
    );
    res.body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (!stalledAt && received >= 1024 * 1024) {
        fp.stall();
        stalledAt = performance.now();
      }
    });
    res.body.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(deadline);
      resolve({ error: err.code ?? err.message, ms: performance.now() - stalledAt });
    });
    res.body.on('end', () => {
      clearTimeout(deadline);
      resolve({ error: 'ended normally', ms: performance.now() - stalledAt });
    });
  });
  t.ok(outcome.error && outcome.error !== 'ended normally', `the body errors (${outcome.error})`);
  t.ok(
    outcome.ms >= TIMEOUT_S * 1000 * 0.9 && outcome.ms < TIMEOUT_S * 1000 + SLACK_MS,
    `cut ${Math.round(outcome.ms)} ms after the stall (timeout ${TIMEOUT_S} s)`,
  );
  t.ok(received < TOTAL, `truncated: ${(received / 2 ** 20).toFixed(1)} of ${TOTAL / 2 ** 20} MB`);
  // A stalled link hides the close from the upstream until it flows again (as a black hole would):
  // once it does, the upstream must find its response abandoned, not read on by a proxy still holding it.
  fp.resume();
  const download = upstream.requests.find((r) => r.url.startsWith('/download'));
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    download?.done,
    new Promise((r) => {
      timer = setTimeout(() => r('still open'), SLACK_MS);
    }),
  ]);
  clearTimeout(timer);
  t.equal(settled, 'aborted', 'the upstream response was abandoned (authward closed the connection)');
  t.equal(fp.open, 0, 'no connection left open');
  t.ok(fp.closedByClient >= 1, 'it was authward that closed it');
  const after = await request(`${proxy.url}/after`);
  t.equal(after.statusCode, 200, 'the proxy still works');
  await after.body.dump();
});

// Gaps of a quarter of the timeout: a loaded machine can stretch one by three quarters before it counts as silence.
t.test('a body that keeps moving is never cut: events 250 ms apart for 2.75 s', async (t) => {
  const started = performance.now();
  const res = await request(`${proxy.url}/sse?count=11&interval=250`);
  t.equal(res.statusCode, 200);
  const text = await res.body.text();
  t.equal((text.match(/^data: \d+$/gm) ?? []).length, 11, 'all 11 events');
  t.ok(performance.now() - started > TIMEOUT_S * 1000 * 2, 'the stream outlived the timeout');
});

t.test('a large download through the same bound arrives whole', async (t) => {
  const res = await request(`${proxy.url}/download?bytes=${TOTAL}`);
  let received = 0;
  for await (const chunk of res.body) received += (chunk as Buffer).length;
  t.equal(received, TOTAL);
});
