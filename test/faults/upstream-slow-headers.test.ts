// An upstream slow to answer, or black-holed: 504 after upstream.timeout, the upstream request abandoned.
import t from 'tap';
import { request } from 'undici';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { startProxy } from '../proxy/proxy-app.js';

const TIMEOUT_S = 1;
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const fp = await startFaultProxy({ target: { port: upstream.port } });
t.teardown(() => fp.close());
const proxy = await startProxy(t, `http://127.0.0.1:${fp.port}`, { upstream: { timeout: TIMEOUT_S } });

async function get(path: string) {
  const started = performance.now();
  const res = await request(`${proxy.url}${path}`, { headers: { accept: 'application/json' } });
  const text = await res.body.text();
  return { status: res.statusCode, text, ms: performance.now() - started };
}

const inWindow = (ms: number) => ms >= TIMEOUT_S * 1000 * 0.95 && ms < TIMEOUT_S * 1000 + 1500;

t.test('headers later than the timeout: 504, and the upstream request is abandoned', async (t) => {
  upstream.reset();
  const res = await get('/slow?ms=10000');
  t.equal(res.status, 504);
  t.match(JSON.parse(res.text), { error: 'upstream_timeout', message: 'upstream did not answer in time' });
  t.ok(inWindow(res.ms), `after ${Math.round(res.ms)} ms (timeout ${TIMEOUT_S} s)`);
  const slow = upstream.requests.find((r) => r.url.startsWith('/slow'));
  const settled = await Promise.race([
    slow?.done,
    new Promise((r) => setTimeout(() => r('still open'), 1000)),
  ]);
  t.equal(settled, 'aborted', 'the upstream saw its request go away (nothing left waiting 10 s)');
});

t.test('headers just inside the timeout: 200', async (t) => {
  const res = await get(`/slow?ms=${TIMEOUT_S * 1000 - 400}`);
  t.equal(res.status, 200);
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
