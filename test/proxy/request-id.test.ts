// X-Request-Id: a well-formed client id is kept end to end, anything else is replaced by a fresh UUID.
import t from 'tap';
import { request } from 'undici';
import { closedPort } from '../helpers/ports.js';
import { type EchoBody, startUpstream } from '../helpers/upstream.js';
import { captureLogger, dechunk, rawSocket, startWorld } from '../helpers/world.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const upstream = await startUpstream();
t.teardown(() => upstream.close());
const { logger, lines } = captureLogger();
const proxy = await startWorld(t, {
  idp: false,
  public: true,
  upstream: { url: upstream.url },
  config: { logging: { level: 'info' } },
  logger,
});

async function forwardedId(id?: string): Promise<string | undefined> {
  const res = await request(`${proxy.url}/rid`, id === undefined ? {} : { headers: { 'x-request-id': id } });
  return ((await res.body.json()) as EchoBody).headers['x-request-id'] as string | undefined;
}

t.test('a well-formed client id is passed upstream unchanged', async (t) => {
  for (const id of ['abc-123', 'trace.id:42_x', 'a'.repeat(128), '0af7651916cd43dd8448eb211c80319c']) {
    t.equal(await forwardedId(id), id, `${id.slice(0, 40)} kept`);
  }
});

t.test('no id: a UUID is generated and sent', async (t) => {
  const [a, b] = [await forwardedId(), await forwardedId()];
  t.match(a, UUID);
  t.match(b, UUID);
  t.not(a, b, 'a fresh one per request');
});

t.test('a malformed id is replaced by a generated UUID', async (t) => {
  const bad = ['a'.repeat(129), 'has space', '<script>', 'x;y', 'ümlaut', 'a/b', '', 'id,other'];
  for (const id of bad) {
    const sent = await forwardedId(id);
    t.match(sent, UUID, `${JSON.stringify(id.slice(0, 20))} replaced`);
    t.not(sent, id);
  }
});

t.test('two X-Request-Id headers count as malformed', async (t) => {
  const res = await rawSocket(
    proxy.port,
    'GET /rid HTTP/1.1\r\nHost: a\r\nX-Request-Id: one\r\nX-Request-Id: two\r\nConnection: close\r\n\r\n',
  );
  const echo = JSON.parse(dechunk(res)) as EchoBody;
  t.match(echo.headers['x-request-id'], UUID);
  t.equal(echo.rawHeaders.filter((h) => h.toLowerCase() === 'x-request-id').length, 1, 'exactly one sent');
});

t.test('the access log line carries the same id', async (t) => {
  await forwardedId('logged-id-1');
  const line = lines.find((l) => l.requestId === 'logged-id-1' && l.msg === 'request');
  t.match(line, { path: '/rid', status: 200 });
});

t.test('error bodies carry the request id, kept or generated', async (t) => {
  const broken = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: `http://127.0.0.1:${await closedPort()}` },
  });
  const kept = await request(`${broken.url}/x`, { headers: { 'x-request-id': 'err-id-7' } });
  t.equal(((await kept.body.json()) as { requestId: string }).requestId, 'err-id-7');
  const generated = await request(`${broken.url}/x`, { headers: { 'x-request-id': 'bad id' } });
  t.match(((await generated.body.json()) as { requestId: string }).requestId, UUID);
  const rejected = await rawSocket(
    proxy.port,
    'GET /a/../b HTTP/1.1\r\nHost: a\r\nX-Request-Id: err-400\r\nConnection: close\r\n\r\n',
  );
  t.equal(rejected.status, 400);
  t.equal((JSON.parse(dechunk(rejected)) as { requestId: string }).requestId, 'err-400');
});
