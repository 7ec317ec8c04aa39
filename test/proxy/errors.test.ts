// Upstream failures: a short generic 502/504 (JSON or a page), details only in the log, and the proxy stays healthy.
import t, { type Test } from 'tap';
import { request } from 'undici';
import { closedPort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, startWorld } from '../helpers/world.js';

interface ErrorBody {
  error: string;
  message: string;
  requestId: string;
}

/** Nothing in an error body may point inside: no address, no port, no stack, no library error. */
function assertOpaque(t: Test, text: string, port: number, maxBytes = 400) {
  t.ok(text.length < maxBytes, `short body (${text.length} bytes)`);
  t.notMatch(text, /127\.0\.0\.1|localhost/, 'no internal address');
  t.notOk(text.includes(String(port)), 'no internal port');
  t.notMatch(text, /ECONNREFUSED|UND_ERR|\bat \S+ \(|node_modules|stack/i, 'no error code or stack');
}

t.test('upstream refusing connections: 502 JSON, opaque', async (t) => {
  const port = await closedPort();
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: `http://127.0.0.1:${port}` },
  });
  const res = await request(`${proxy.url}/anything?x=1`, { headers: { 'x-request-id': 'err-502' } });
  const text = await res.body.text();
  t.equal(res.statusCode, 502);
  t.match(res.headers['content-type'], /^application\/json/);
  t.same(JSON.parse(text) as ErrorBody, {
    error: 'upstream_unavailable',
    message: 'upstream unavailable',
    requestId: 'err-502',
  });
  assertOpaque(t, text, port);
  t.equal(res.headers['cache-control'], 'no-store');
});

t.test('the details go to the log instead', async (t) => {
  const port = await closedPort();
  const { logger, lines } = captureLogger('warn');
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: `http://127.0.0.1:${port}` },
    logger,
  });
  const res = await request(`${proxy.url}/logged`, { headers: { 'x-request-id': 'err-logged' } });
  await res.body.dump();
  t.equal(res.statusCode, 502);
  const line = lines.find((l) => l.event === 'upstream_error');
  t.match(line, { requestId: 'err-logged', code: 'ECONNREFUSED', upstream: `http://127.0.0.1:${port}` });
});

t.test('a browser gets a small HTML page instead', async (t) => {
  const port = await closedPort();
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: `http://127.0.0.1:${port}` },
    // The page names the app; by default that is publicUrl's host, 127.0.0.1 here like the internals.
    config: { pages: { appName: 'Orders' } },
  });
  const res = await request(`${proxy.url}/page`, {
    headers: { accept: 'text/html,application/xhtml+xml', 'x-request-id': 'err-html' },
  });
  const html = await res.body.text();
  t.equal(res.statusCode, 502);
  t.match(res.headers['content-type'], /^text\/html/);
  t.match(html, /<title>Orders is not answering · Orders<\/title>/);
  t.match(html, 'err-html', 'the page shows the request id');
  t.match(res.headers['content-security-policy'], "default-src 'none'");
  assertOpaque(t, html, port, 4096); // the page template's inline CSS included
});

t.test('an upstream slower than upstream.timeout: 504, then the proxy still works', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: upstream.url },
    config: { upstream: { timeout: 0.5 } },
  });

  // The upstream would answer after 60 s: an answer well before that (< 30 s) came from the timeout.
  const started = Date.now();
  const slow = await request(`${proxy.url}/slow?ms=60000`);
  const text = await slow.body.text();
  const elapsed = Date.now() - started;
  t.equal(slow.statusCode, 504);
  t.match(JSON.parse(text), { error: 'upstream_timeout', message: 'upstream did not answer in time' });
  t.ok(elapsed >= 450, `waited for upstream.timeout 0.5 s (${elapsed} ms)`);
  t.ok(elapsed < 30_000, `answered at the timeout (${elapsed} ms), not the upstream's 60 s`);
  assertOpaque(t, text, upstream.port);

  const ok = await request(`${proxy.url}/after-timeout`);
  t.equal(ok.statusCode, 200);
  t.equal(((await ok.body.json()) as { path: string }).path, '/after-timeout');
});

t.test('after a 502 the proxy recovers once the upstream is back', async (t) => {
  const port = await closedPort();
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: `http://127.0.0.1:${port}` },
  });
  const down = await request(`${proxy.url}/x`);
  await down.body.dump();
  t.equal(down.statusCode, 502);
  // The upstream comes up on that very port.
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => res.end('back'));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const up = await request(`${proxy.url}/x`);
  t.equal(up.statusCode, 200);
  t.equal(await up.body.text(), 'back');
});

t.test('upstream error statuses pass through unchanged', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startWorld(t, { idp: false, public: true, upstream: { url: upstream.url } });
  for (const status of [404, 500, 503]) {
    const res = await request(`${proxy.url}/status/${status}`, { headers: { accept: 'text/html' } });
    t.equal(res.statusCode, status);
    t.same(await res.body.json(), { status }, `${status}: the upstream’s own body`);
  }
});
