// A client that goes away mid-request: authward abandons the upstream request at once (waiting, uploading, downloading).
import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import t from 'tap';
import { type RecordedRequest, startUpstream } from '../helpers/upstream.js';
import { captureLogger, startWorld } from '../helpers/world.js';

const upstream = await startUpstream();
t.teardown(() => upstream.close());
const { logger, lines } = captureLogger('info');
// Abandoning the upstream request "at once" is judged against what it would otherwise wait for: the
// upstream's own answer (it would take UPSTREAM_MS) or authward's upstream timeout (TIMEOUT_S). Both are
// made long, so an abort well inside half of them is unmistakable even on a loaded machine.
const TIMEOUT_S = 60;
const UPSTREAM_MS = 2 * TIMEOUT_S * 1000;
const DEADLINE_MS = (TIMEOUT_S * 1000) / 2;
const proxy = await startWorld(t, {
  idp: false,
  public: true,
  upstream: { url: upstream.url },
  config: { upstream: { timeout: TIMEOUT_S } },
  logger,
});

/** The upstream's record of the first request whose URL starts with `prefix`, once it arrives. */
async function arrived(prefix: string): Promise<RecordedRequest> {
  for (;;) {
    const r = upstream.requests.find((x) => x.url.startsWith(prefix));
    if (r) return r;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves once a log line matching `match` has been written. */
async function logged(match: (l: Record<string, unknown>) => boolean): Promise<void> {
  while (!lines.some(match)) await new Promise((res) => setTimeout(res, 5));
}

/** The access lines of `path`, once the abort has been logged. */
async function accessLines(path: string) {
  await logged((l) => l.msg === 'request' && l.path === path);
  const found = lines.filter((l) => l.msg === 'request' && l.path === path);
  return { count: found.length, status: found[0]?.status, method: found[0]?.method };
}

/**
 * How the upstream's response ended, and how long after `since`; 'still open' if it had not ended
 * DEADLINE_MS after `since` (half of authward's upstream timeout, well before the upstream would answer).
 */
async function outcome(r: RecordedRequest, since: number) {
  let timer: NodeJS.Timeout | undefined;
  const how = await Promise.race([
    r.done,
    new Promise((res) => {
      timer = setTimeout(() => res('still open'), DEADLINE_MS);
    }),
  ]);
  clearTimeout(timer);
  return { how, ms: Math.round(performance.now() - since) };
}

t.test('while the upstream is still thinking', async (t) => {
  const req = httpRequest(`${proxy.url}/slow?ms=${UPSTREAM_MS}`);
  req.on('error', () => {});
  req.end();
  const r = await arrived('/slow');
  const goneAt = performance.now();
  req.destroy();
  const o = await outcome(r, goneAt);
  t.equal(o.how, 'aborted', `the upstream request was aborted (${o.ms} ms after the client left)`);
  t.ok(o.ms < DEADLINE_MS, 'neither the upstream answer nor the upstream timeout was waited for');
  await logged((l) => l.event === 'client_gone');
  t.pass('logged as the client going away');
  t.notOk(
    lines.some((l) => l.event === 'upstream_error'),
    'not counted as an upstream failure',
  );
  t.same(await accessLines('/slow'), { count: 1, status: 499, method: 'GET' }, 'one access line: 499');
});

for (const framing of ['content-length', 'chunked'] as const) {
  t.test(`halfway through an upload (${framing})`, async (t) => {
    const path = `/upload-${framing}`;
    let sent = 0;
    const body = new Readable({
      read() {
        sent += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024, 1));
      },
    });
    const req = httpRequest(`${proxy.url}${path}`, {
      method: 'PUT',
      headers: framing === 'chunked' ? {} : { 'content-length': 100 * 1024 * 1024 },
    });
    req.on('error', () => {});
    body.pipe(req);
    const r = await arrived(path);
    while (sent < 5 * 1024 * 1024) await new Promise((res) => setTimeout(res, 5));
    const goneAt = performance.now();
    body.unpipe(req);
    req.destroy();
    const o = await outcome(r, goneAt);
    t.equal(o.how, 'aborted', `the upstream upload was aborted (${o.ms} ms after the client left)`);
    t.ok(o.ms < DEADLINE_MS, 'the upstream timeout was not waited for');
    t.same(await accessLines(path), { count: 1, status: 499, method: 'PUT' }, 'one access line: 499');
    t.notOk(
      lines.some((l) => l.event === 'upstream_error'),
      'the cut upload is not counted as an upstream failure',
    );
  });
}

t.test('halfway through a download', async (t) => {
  const total = 500 * 1024 * 1024;
  let received = 0;
  const goneAt = await new Promise<number>((resolve) => {
    const req = httpRequest(`${proxy.url}/download?bytes=${total}`, (res) => {
      res.on('data', (c: Buffer) => {
        received += c.length;
        if (received >= 1024 * 1024 && !req.destroyed) {
          req.destroy();
          resolve(performance.now());
        }
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end();
  });
  const r = await arrived('/download');
  const o = await outcome(r, goneAt);
  t.equal(o.how, 'aborted', `the upstream download was abandoned (${o.ms} ms after the client left)`);
  t.ok(o.ms < DEADLINE_MS, 'the upstream timeout was not waited for');
  t.same(await accessLines('/download'), { count: 1, status: 499, method: 'GET' }, 'one access line: 499');
});

t.test('nothing is left open: the proxy is still fine', async (t) => {
  const res = await fetch(`${proxy.url}/after`);
  t.equal(res.status, 200);
  await res.arrayBuffer();
});
