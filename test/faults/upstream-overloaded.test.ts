// An upstream shedding load (503): the answer goes to the client once and at once, never retried by the proxy.
//
// A proxy that retries a 503 multiplies the load on an upstream that is already refusing it (a retry
// storm across every replica) and holds the client meanwhile; the client or load balancer decides.
import t from 'tap';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.js';
import { startWorld } from '../helpers/world.js';

const upstream = await startUpstream();
t.teardown(() => upstream.close());
// Retries are judged by the upstream's request count. Holding the client (or close()) until a timeout is
// judged against authward's upstream timeout, made long (TIMEOUT_S) so that "well inside half of it" is
// unmistakable even on a loaded machine.
const TIMEOUT_S = 60;
const DEADLINE_MS = (TIMEOUT_S * 1000) / 2;
const proxy = await startWorld(t, {
  idp: false,
  public: true,
  upstream: { url: upstream.url },
  config: { upstream: { timeout: TIMEOUT_S } },
});

t.test('GET answered 503: passed through, one upstream request', async (t) => {
  for (let i = 0; i < 5; i++) {
    upstream.reset();
    const started = performance.now();
    const res = await request(`${proxy.url}/status/503`);
    const ms = performance.now() - started;
    t.equal(res.statusCode, 503);
    t.same(await res.body.json(), { status: 503 }, "the upstream's own body");
    t.equal(upstream.requests.length, 1, `request ${i + 1}: the upstream saw it once`);
    t.ok(ms < DEADLINE_MS, `answered in ${Math.round(ms)} ms, the client not held until a timeout`);
  }
});

t.test('HEAD and POST too', async (t) => {
  for (const method of ['HEAD', 'POST'] as const) {
    upstream.reset();
    const res = await request(`${proxy.url}/status/503`, { method, body: method === 'POST' ? 'x' : null });
    await res.body.dump();
    t.equal(res.statusCode, 503, method);
    t.equal(upstream.requests.length, 1, `${method}: once`);
  }
});

t.test('the proxy then closes promptly (no connection left busy)', async (t) => {
  const started = performance.now();
  await proxy.app.close();
  const ms = performance.now() - started;
  t.ok(ms < DEADLINE_MS, `closed in ${Math.round(ms)} ms, not after an upstream timeout`);
});
