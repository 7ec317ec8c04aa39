// WebSockets pass through the proxy: messages echo both ways, and the handshake carries authward's headers.
import { once } from 'node:events';
import t from 'tap';
import WebSocket from 'ws';
import { startWorld } from '../helpers/world.js';

interface Handshake {
  url: string;
  headers: Record<string, string | undefined>;
  rawHeaders: string[];
}

const proxy = await startWorld(t, { idp: false, public: true });

/** Opens a socket through the proxy and resolves with it and the upstream's first message. */
async function open(path: string, headers: Record<string, string> = {}) {
  const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}${path}`, { headers });
  t.teardown(() => ws.terminate());
  const first = new Promise<Handshake>((resolve, reject) => {
    ws.once('message', (data) => resolve(JSON.parse(String(data)) as Handshake));
    ws.once('error', reject);
  });
  return { ws, handshake: await first };
}

t.test('messages echo through the proxy, text and binary', async (t) => {
  const { ws } = await open('/socket');
  ws.send('hello');
  const [text, textIsBinary] = await once(ws, 'message');
  t.equal(String(text), 'hello');
  t.equal(textIsBinary, false);
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  ws.send(bytes);
  const [binary, isBinary] = await once(ws, 'message');
  t.same(Buffer.from(binary as Buffer), bytes);
  t.equal(isBinary, true);
  const big = 'x'.repeat(1024 * 1024);
  ws.send(big);
  const [echoed] = await once(ws, 'message');
  t.equal(String(echoed).length, big.length, 'a 1 MB message arrives whole');
  ws.close(1000, 'done');
  const [code] = await once(ws, 'close');
  t.equal(code, 1000, 'a clean close travels both ways');
});

t.test('the handshake carries X-Forwarded-* and x-request-id, not the client’s copies', async (t) => {
  const { handshake } = await open('/socket?room=1&room=2', {
    'x-request-id': 'ws-req-42',
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-host': 'evil.example',
    'x-ms-client-principal-name': 'forged',
    'x-forwarded-user': 'forged',
  });
  t.equal(handshake.url, '/socket?room=1&room=2', 'path and query intact');
  t.equal(handshake.headers['x-forwarded-for'], '127.0.0.1');
  t.equal(handshake.headers['x-forwarded-proto'], 'http');
  t.equal(handshake.headers['x-forwarded-host'], new URL(proxy.config.publicUrl).host);
  t.equal(handshake.headers['x-request-id'], 'ws-req-42', 'a well-formed request id is kept');
  t.notOk(JSON.stringify(handshake.rawHeaders).includes('forged'), 'no forged identity header arrives');
});

t.test('a malformed request id is replaced on the handshake too', async (t) => {
  const { handshake } = await open('/socket', { 'x-request-id': 'bad id with spaces' });
  t.match(handshake.headers['x-request-id'], /^[0-9a-f-]{36}$/);
});

t.test('authward’s cookies stay behind; the application’s go through', async (t) => {
  const { handshake } = await open('/socket', { cookie: 'app=1; authward=sealed; authward-tx-1=s' });
  t.equal(handshake.headers.cookie, 'app=1');
});
