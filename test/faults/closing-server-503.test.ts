// Every 503 authward sends carries Retry-After, the closing server's too: a request that reaches a server
// being closed (pipelined behind one in flight on a keep-alive connection: server.close() reaps only idle
// connections) gets authward's own answer, JSON for an API caller and the page for a browser, with
// Retry-After and Connection: close, instead of fastify's fixed body (return503OnClosing) without it.
// /readyz's 503 (starting, draining) says when to ask again too.
import { EventEmitter, once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { RETRY_AFTER_SECONDS } from '../../src/pages/error-pages.js';
import { rawRequest, startWorld } from '../helpers/world.js';

// A real upstream that holds /hold until the test lets it go.
const held: http.ServerResponse[] = [];
const heldEvents = new EventEmitter();
const upstream = http.createServer((req, res) => {
  if (req.url?.startsWith('/hold')) {
    held.push(res);
    heldEvents.emit('held');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
});
upstream.listen(0, '127.0.0.1');
await once(upstream, 'listening');
t.teardown(() => {
  upstream.closeAllConnections();
  upstream.close();
});
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;

const JSON_CALL = 'accept: application/json\r\n';
const NAVIGATION = 'accept: text/html\r\nsec-fetch-mode: navigate\r\n';

/** A keep-alive connection busy with GET /hold; `send(path)` sends a second request on it later. */
function busyConnection(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  const host = `host: 127.0.0.1:${port}\r\n`;
  socket.write(`GET /hold HTTP/1.1\r\n${host}\r\n`);
  let text = '';
  socket.setEncoding('utf8').on('data', (c: string) => {
    text += c;
  });
  return {
    send: (path: string, headers: string) => socket.write(`GET ${path} HTTP/1.1\r\n${host}${headers}\r\n`),
    read: once(socket, 'close').then(() => text),
  };
}

/** The response that starts at `HTTP/1.1 503`: its headers (lower-case names) and body. */
function the503(text: string) {
  const at = text.indexOf('HTTP/1.1 503');
  const [head = '', body = ''] = text.slice(at).split('\r\n\r\n');
  const headers = Object.fromEntries(
    head
      .split('\r\n')
      .slice(1)
      .map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { at, headers, body: body.slice(0, Number(headers['content-length'])) };
}

t.test('/readyz 503 says when to ask again', async (t) => {
  // No provider: the app never gets ready.
  const w = await startWorld(t, { idp: false, public: true, upstream: { url: upstreamUrl } });
  const res = await rawRequest(w.url, '/readyz');
  t.equal(res.status, 503);
  t.equal(res.headers['retry-after'], String(RETRY_AFTER_SECONDS));
});

t.test('a request reaching a closing server: 503 in authward’s shape, with Retry-After', async (t) => {
  const w = await startWorld(t, { idp: false, public: true, upstream: { url: upstreamUrl } });
  const twoHeld = new Promise<void>((resolve) => {
    heldEvents.on('held', () => {
      if (held.length === 2) resolve();
    });
  });
  const api = busyConnection(w.port);
  const page = busyConnection(w.port);
  await twoHeld;

  // The moment the listener closes, the app is closing: server.close() leaves busy connections open.
  const server = w.app.server;
  const closeCalled = new Promise<void>((resolve) => {
    const close = server.close.bind(server);
    server.close = ((cb?: (err?: Error) => void) => {
      resolve();
      return close(cb);
    }) as typeof server.close;
  });
  const closed = w.app.close();
  await closeCalled;
  // A second request on each busy connection, seen by the server; then the held ones may finish.
  const seen = new Promise<void>((resolve) => {
    const urls = new Set(['/api/after', '/after']);
    server.on('request', (req: http.IncomingMessage) => {
      urls.delete(req.url ?? '');
      if (urls.size === 0) resolve();
    });
  });
  api.send('/api/after', JSON_CALL);
  page.send('/after', NAVIGATION);
  await seen;
  for (const res of held.splice(0)) res.writeHead(200, { 'content-length': '4' }).end('done');

  const apiText = await api.read;
  t.match(apiText, /^HTTP\/1\.1 200 /, 'the request in flight finished');
  const json = the503(apiText);
  t.ok(json.at > 0, 'the request behind it: 503');
  t.equal(json.headers['retry-after'], String(RETRY_AFTER_SECONDS), 'Retry-After');
  t.equal(json.headers.connection, 'close', 'the connection is closed after it');
  t.match(json.headers['content-type'], /^application\/json/);
  const body = JSON.parse(json.body);
  t.match(body, { error: String, message: /try again/, requestId: String }, 'authward’s JSON shape');
  t.equal(body.statusCode, undefined, 'not fastify’s body');

  const html = the503(await page.read);
  t.ok(html.at > 0, 'a navigation behind it: 503');
  t.equal(html.headers['retry-after'], String(RETRY_AFTER_SECONDS), 'Retry-After');
  t.match(html.headers['content-type'], /^text\/html/);
  t.match(html.body, /<h1>Temporarily unavailable<\/h1>/, 'authward’s page');
  t.match(html.body, `Try again in ${RETRY_AFTER_SECONDS} seconds`);
  await closed;
});
