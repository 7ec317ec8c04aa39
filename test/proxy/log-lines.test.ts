// Log volume per request: one access line per proxied request at info; an upstream failure adds one line
// with its code readable and no stack; stacks appear only at debug; level names and ISO times by config.
import t from 'tap';
import { request } from 'undici';
import { closedPort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, startWorld } from '../helpers/world.js';

const upstream = await startUpstream();
t.teardown(() => upstream.close());

type Line = Record<string, unknown>;

/** The lines of one request (its request id), once its access line (written after the answer) is there. */
async function linesOf(lines: Line[], url: string): Promise<Line[]> {
  const id = `log-lines-${Math.random().toString(36).slice(2)}`;
  const before = lines.length;
  const res = await request(url, { headers: { accept: 'application/json', 'x-request-id': id } });
  await res.body.text();
  const deadline = Date.now() + 30_000; // a hang guard only: the access line follows the answer
  while (!lines.slice(before).some((l) => l.msg === 'request' && l.requestId === id)) {
    if (Date.now() > deadline) throw new Error('no access line');
    await new Promise((r) => setTimeout(r, 5));
  }
  return lines.slice(before).filter((l) => l.requestId === id);
}

t.test('info: one line per proxied request, the access line', async (t) => {
  const { logger, lines } = captureLogger('info');
  const proxy = await startWorld(t, { idp: false, public: true, upstream: { url: upstream.url }, logger });
  const got = await linesOf(lines, `${proxy.url}/one`);
  t.equal(got.length, 1, `one line, got: ${got.map((l) => l.msg).join(' | ')}`);
  t.match(got[0], { msg: 'request', status: 200, route: 'upstream' });
});

t.test('info: an unreachable upstream adds one warning with its code, no stack', async (t) => {
  const { logger, lines } = captureLogger('info');
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: `http://127.0.0.1:${await closedPort()}` },
    logger,
  });
  const got = await linesOf(lines, `${proxy.url}/down`);
  t.equal(got.length, 2, `access line + one failure line, got: ${got.map((l) => l.msg).join(' | ')}`);
  const failure = got.find((l) => l.msg !== 'request');
  t.match(failure, { event: 'upstream_error', code: 'ECONNREFUSED', level: 40 });
  t.notMatch(JSON.stringify(got), /"stack"|\[redacted\]/, 'no stack, nothing masked');
});

t.test('debug: the failure carries its stack', async (t) => {
  const { logger, lines } = captureLogger('debug');
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: `http://127.0.0.1:${await closedPort()}` },
    logger,
  });
  const got = await linesOf(lines, `${proxy.url}/down`);
  t.ok(
    got.some((l) => typeof (l.err as Line | undefined)?.stack === 'string'),
    'a stack at debug',
  );
});

t.test('level names and ISO times by config', async (t) => {
  const { logger, lines } = captureLogger('info', { levelNames: true, timestamp: 'iso' });
  const proxy = await startWorld(t, { idp: false, public: true, upstream: { url: upstream.url }, logger });
  const [line] = await linesOf(lines, `${proxy.url}/named`);
  t.equal(line?.level, 'info');
  t.match(String(line?.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});
