// The upstream refusing connections, or resetting them mid-request: 502 JSON at once, and the proxy heals with it.
import t from 'tap';
import { request } from 'undici';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, startWorld } from '../helpers/world.js';

const upstream = await startUpstream();
t.teardown(() => upstream.close());
const fp = await startFaultProxy({ target: { port: upstream.port } });
t.teardown(() => fp.close());
const { logger, lines } = captureLogger('warn');
// "At once" is judged against what a wrong proxy would wait for: a retry finally answered by the upstream
// (the slow path takes SLOW_MS) or authward's upstream timeout (TIMEOUT_S). Both are long, so an answer
// inside half the timeout is unmistakable even on a loaded machine.
const TIMEOUT_S = 60;
const SLOW_MS = 2 * TIMEOUT_S * 1000;
const DEADLINE_MS = (TIMEOUT_S * 1000) / 2;
const proxy = await startWorld(t, {
  idp: false,
  public: true,
  upstream: { url: `http://127.0.0.1:${fp.port}` },
  config: { upstream: { timeout: TIMEOUT_S } },
  logger,
});

async function get(path: string, init: { method?: 'GET' | 'POST'; body?: string } = {}) {
  const started = performance.now();
  const res = await request(`${proxy.url}${path}`, { ...init, headers: { accept: 'application/json' } });
  const text = await res.body.text();
  return { status: res.statusCode, text, ms: performance.now() - started };
}

t.test('refused: 502 JSON at once, no internals, logged; then heals', async (t) => {
  t.equal((await get('/before')).status, 200);
  await fp.refuse();
  for (const [method, body] of [
    ['GET', undefined],
    ['POST', 'payload'],
  ] as const) {
    const res = await get('/refused', { method, ...(body ? { body } : {}) });
    t.equal(res.status, 502, `${method}: 502`);
    t.match(JSON.parse(res.text), { error: 'upstream_unavailable', message: 'upstream unavailable' });
    t.notMatch(res.text, /ECONNREFUSED|127\.0\.0\.1/, 'no internal details');
    t.ok(res.ms < DEADLINE_MS, `${method}: answered in ${Math.round(res.ms)} ms, not after a timeout`);
  }
  t.ok(
    lines.some((l) => l.event === 'upstream_error' && l.code === 'ECONNREFUSED'),
    'the cause is in the log',
  );
  await fp.accept();
  t.equal((await get('/after')).status, 200, 'upstream back: 200 without restarting anything');
});

t.test('connection reset while waiting for the headers: 502 at once', async (t) => {
  upstream.reset();
  const pending = get(`/slow?ms=${SLOW_MS}`);
  while (!upstream.requests.some((r) => r.url.startsWith('/slow')))
    await new Promise((r) => setTimeout(r, 10));
  const cutAt = performance.now();
  fp.cutAll();
  const res = await pending;
  const afterCut = performance.now() - cutAt;
  t.equal(res.status, 502);
  t.match(JSON.parse(res.text), { error: 'upstream_unavailable' });
  t.ok(afterCut < DEADLINE_MS, `answered ${Math.round(afterCut)} ms after the reset, not after a timeout`);
  t.equal(upstream.requests.filter((r) => r.url.startsWith('/slow')).length, 1, 'not retried upstream');
  t.equal((await get('/after-reset')).status, 200, 'the next request gets a fresh connection');
});
