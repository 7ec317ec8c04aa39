// X-Forwarded-Host/-Proto name publicUrl's host and scheme unless trustProxy vouches for a forwarded
// value: the client's raw Host used to reach the upstream as X-Forwarded-Host. A Host that is not a
// valid host[:port] is refused (400) and forwarded nowhere.
import { once } from 'node:events';
import t from 'tap';
import WebSocket from 'ws';
import { type EchoBody, startUpstream } from '../helpers/upstream.js';
import { dechunk, rawSocket, startWorld } from '../helpers/world.js';

const upstream = await startUpstream();
t.teardown(() => upstream.close());
const PUBLIC = { publicUrl: 'https://app.example' };

/** What the upstream saw of a raw request with these header lines. */
async function forwarded(port: number, lines: string[]) {
  const { host, proto } = await forwardedAll(port, lines);
  return { host, proto };
}

async function forwardedAll(port: number, lines: string[]) {
  const res = await rawSocket(port, `GET /xf HTTP/1.1\r\n${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`);
  t.equal(res.status, 200);
  const h = (JSON.parse(dechunk(res)) as EchoBody).headers;
  return { host: h['x-forwarded-host'], proto: h['x-forwarded-proto'], for: h['x-forwarded-for'] };
}

t.test('without trustProxy: publicUrl’s host and scheme, whatever the client says', async (t) => {
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: upstream.url },
    config: PUBLIC,
  });
  for (const host of ['evil.example:443', 'evil.example', '127.0.0.1:8080', '[::1]:443']) {
    const seen = await forwarded(proxy.port, [
      `Host: ${host}`,
      'X-Forwarded-Host: forged.example',
      'X-Forwarded-Proto: http',
    ]);
    t.same(seen, { host: 'app.example', proto: 'https' }, `Host: ${host}`);
  }
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/socket`, {
    headers: { host: 'evil.example:443', 'x-forwarded-host': 'forged.example' },
  });
  t.teardown(() => ws.terminate());
  const [first] = await once(ws, 'message');
  const handshake = JSON.parse(String(first)) as { headers: Record<string, string> };
  t.equal(handshake.headers['x-forwarded-host'], 'app.example', 'the WebSocket handshake too');
  t.equal(handshake.headers['x-forwarded-proto'], 'https');
});

t.test('a Host that is not host[:port]: 400, not forwarded', async (t) => {
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: upstream.url },
    config: PUBLIC,
  });
  const before = upstream.requests.length;
  for (const host of ['127.0.0.1/evil', 'user@evil.com', 'evil.example:443/x', 'a b', 'evil.example:', '']) {
    const res = await rawSocket(
      proxy.port,
      `GET /bad-host HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
    );
    t.equal(res.status, 400, `Host: ${JSON.stringify(host)}: 400`);
    t.notMatch(res.body, /\bat\b.*\.(js|ts):\d+/, 'no stack trace');
  }
  t.equal(upstream.requests.length, before, 'none reached the upstream');
});

t.test('a forwarded value counts only from a peer trustProxy names', async (t) => {
  const lines = [
    'Host: internal:8080',
    'X-Forwarded-Host: front.example',
    'X-Forwarded-Proto: http',
    'X-Forwarded-For: 203.0.113.9',
  ];
  for (const trustProxy of [true, ['127.0.0.1'], ['127.0.0.0/8'], ['::ffff:127.0.0.1']]) {
    const proxy = await startWorld(t, {
      idp: false,
      public: true,
      upstream: { url: upstream.url },
      config: { ...PUBLIC, trustProxy },
    });
    const what = JSON.stringify(trustProxy);
    t.same(await forwarded(proxy.port, lines), { host: 'front.example', proto: 'http' }, `${what}: believed`);
    t.same(
      await forwarded(proxy.port, ['Host: internal:8080']),
      { host: 'app.example', proto: 'https' },
      `${what}: none forwarded: publicUrl’s`,
    );
    t.same(
      await forwarded(proxy.port, [
        'Host: internal:8080',
        'X-Forwarded-Host: a@b/c',
        'X-Forwarded-Proto: gopher',
      ]),
      { host: 'app.example', proto: 'https' },
      `${what}: malformed forwarded values: publicUrl’s`,
    );
  }
  for (const trustProxy of [false, 2, ['10.0.0.0/8'], ['192.168.1.1', '::1/128']]) {
    const proxy = await startWorld(t, {
      idp: false,
      public: true,
      upstream: { url: upstream.url },
      config: { ...PUBLIC, trustProxy },
    });
    t.same(
      await forwarded(proxy.port, lines),
      { host: 'app.example', proto: 'https' },
      `${JSON.stringify(trustProxy)}: not this peer: publicUrl’s`,
    );
    t.equal((await forwardedAll(proxy.port, lines)).for, '127.0.0.1', 'and the socket’s address');
  }
});
