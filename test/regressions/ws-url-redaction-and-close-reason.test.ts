// WebSocket proxying leaks nothing: the URL logged at debug has its secret query values masked like an
// HTTP request's, and an upstream that cannot be reached closes the client's socket with a generic
// reason (the connect or certificate error, with its internal address, goes only to the log).
import { once } from 'node:events';
import t from 'tap';
import WebSocket from 'ws';
import { closedPort } from '../helpers/ports.js';
import { createTestTls } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, startWorld } from '../helpers/world.js';

t.test('the proxied WebSocket URL is logged with secrets masked', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const { logger, lines } = captureLogger('debug');
  const proxy = await startWorld(t, { idp: false, public: true, upstream: { url: upstream.url }, logger });
  const ws = new WebSocket(
    `ws://127.0.0.1:${proxy.port}/socket?access_token=tok-secret-1&code=code-secret-2&room=7`,
  );
  t.teardown(() => ws.terminate());
  await once(ws, 'message');
  const text = JSON.stringify(lines);
  t.notOk(text.includes('tok-secret-1'), 'no access_token value');
  t.notOk(text.includes('code-secret-2'), 'no code value');
  t.match(text, /access_token=\[redacted\]&code=\[redacted\]&room=7/, 'the URL is still there, masked');
});

for (const kind of ['unreachable', 'untrusted certificate'] as const) {
  t.test(`an ${kind} upstream: a generic close reason, the detail in the log`, async (t) => {
    let target: string;
    let detail: RegExp;
    if (kind === 'unreachable') {
      target = `http://127.0.0.1:${await closedPort()}`;
      detail = /ECONNREFUSED/;
    } else {
      const tls = await createTestTls(); // a private CA authward is not told about
      t.teardown(() => tls.cleanup());
      const upstream = await startUpstream({ tls: { cert: tls.certPem, key: tls.keyPem } });
      t.teardown(() => upstream.close());
      target = upstream.url;
      detail = /certificate/;
    }
    const { logger, lines } = captureLogger('info');
    const proxy = await startWorld(t, { idp: false, public: true, upstream: { url: target }, logger });
    const ws = new WebSocket(`ws://127.0.0.1:${proxy.port}/socket`);
    ws.on('error', () => undefined);
    const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
    t.equal(code, 1011, 'closed as an internal error');
    t.equal(String(reason), 'upstream unavailable', 'a generic reason');
    t.notMatch(String(reason), /ECONNREFUSED|certificate|127\.0\.0\.1/, 'no internal detail');
    const logged = lines.find((l) => l.event === 'upstream_error' && /websocket/.test(String(l.msg)));
    t.ok(logged, 'logged');
    t.match(JSON.stringify(logged), detail, 'the log has the detail');
  });
}
