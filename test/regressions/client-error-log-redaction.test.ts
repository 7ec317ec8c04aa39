// A request Node's parser refuses (conflicting framing, a header block past 16 KB) is logged as
// "client error" with the error's rawPacket: the raw request bytes, Cookie and Authorization included.
// No log line, at any level, may carry them.
import t from 'tap';
import { captureLogger, rawSocket, startWorld } from '../helpers/world.js';

const COOKIE_SECRET = 'cookie-secret-5b1e';
const BEARER_SECRET = 'bearer-secret-9c3f';

const { logger, lines } = captureLogger('trace');
const proxy = await startWorld(t, { idp: false, public: true, logger });

const secrets = `Cookie: authward=${COOKIE_SECRET}\r\nAuthorization: Bearer ${BEARER_SECRET}\r\n`;
const REFUSED: [string, string, number][] = [
  [
    'Content-Length and Transfer-Encoding',
    `POST /a HTTP/1.1\r\nHost: app.example\r\n${secrets}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    400,
  ],
  [
    'more than 16 KB of headers',
    `GET /a HTTP/1.1\r\nHost: app.example\r\n${secrets}X-Pad: ${'p'.repeat(17 * 1024)}\r\n\r\n`,
    431,
  ],
];

/** Log lines as text, with serialized Buffers ({type:'Buffer',data:[...]}) turned back into their bytes. */
function readable(logged: unknown[]): string {
  return JSON.stringify(logged).replace(/\{"type":"Buffer","data":\[([0-9,]*)\]\}/g, (_, bytes: string) =>
    Buffer.from(bytes.split(',').map(Number)).toString('latin1'),
  );
}

t.test('client errors are logged without the raw request', async (t) => {
  for (const [what, request, status] of REFUSED) {
    const before = lines.length;
    const res = await rawSocket(proxy.port, request);
    t.equal(res.status, status, `${what}: ${status}`);
    // The line is written before the answer goes out: it is there by now.
    const logged = lines.slice(before).filter((l) => /client/.test(String(l.msg)));
    t.equal(logged.length, 1, `${what}: one client error line`);
    const text = readable(lines.slice(before));
    t.notOk(text.includes(COOKIE_SECRET), `${what}: no cookie in the log`);
    t.notOk(text.includes(BEARER_SECRET), `${what}: no bearer token in the log`);
    t.notOk(text.includes('rawPacket'), `${what}: no raw packet`);
    t.match(text, /Parse Error/, `${what}: the parser's error is kept`);
  }
});
