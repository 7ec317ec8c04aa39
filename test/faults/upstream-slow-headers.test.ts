// An upstream slow to answer, or black-holed: 504 after upstream.timeout, the upstream request abandoned.
import t from 'tap';
import { request } from 'undici';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { startWorld } from '../helpers/world.js';

// These tests must wait for upstream.timeout, so it is short. The upper bound only has to tell "cut by the
// timeout" from "waited for the upstream's late answer" (UPSTREAM_MS) or "held forever", so it is loose
// (SLACK_MS): a loaded machine only makes things slower, never a hang look like a timeout.
const TIMEOUT_S = 1;
const SLACK_MS = 30_000;
const UPSTREAM_MS = 4 * SLACK_MS;
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

async function get(path: string) {
  const started = performance.now();
  const res = await request(`${proxy.url}${path}`, { headers: { accept: 'application/json' } });
  const text = await res.body.text();
  return { status: res.statusCode, text, ms: performance.now() - started };
}

const inWindow = (ms: number) => ms >= TIMEOUT_S * 1000 * 0.95 && ms < TIMEOUT_S * 1000 + SLACK_MS;

t.test('headers later than the timeout: 504, and the upstream request is abandoned', async (t) => {
  upstream.reset();
  const res = await get(`/slow?ms=${UPSTREAM_MS}`);
  t.equal(res.status, 504);
  t.match(JSON.parse(res.text), { error: 'upstream_timeout', message: 'upstream did not answer in time' });
  t.ok(inWindow(res.ms), `after ${Math.round(res.ms)} ms (timeout ${TIMEOUT_S} s)`);
  const slow = upstream.requests.find((r) => r.url.startsWith('/slow'));
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    slow?.done,
    new Promise((r) => {
      timer = setTimeout(() => r('still open'), SLACK_MS);
    }),
  ]);
  clearTimeout(timer);
  t.equal(settled, 'aborted', 'the upstream saw its request go away (nothing left waiting for its answer)');
});

t.test('headers inside the timeout: 200', async (t) => {
  // Its own proxy with a longer timeout: headers due at half of it arrive in time even on a loaded machine.
  const LONGER_S = 4;
  const p = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: `http://127.0.0.1:${fp.port}` },
    config: { upstream: { timeout: LONGER_S } },
  });
  const res = await request(`${p.url}/slow?ms=${(LONGER_S * 1000) / 2}`);
  await res.body.dump();
  t.equal(res.statusCode, 200);
});

t.test('black-holed upstream (connection open, nothing answers): 504 after the timeout', async (t) => {
  fp.stall();
  t.teardown(() => fp.resume());
  const res = await get('/black-hole');
  t.equal(res.status, 504);
  t.ok(inWindow(res.ms), `after ${Math.round(res.ms)} ms`);
  fp.resume();
  t.equal((await get('/after')).status, 200, 'answering again: 200');
});
