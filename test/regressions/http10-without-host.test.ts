// A request without Host is refused (400) whatever its HTTP version: Node refuses it only for HTTP/1.1,
// and HTTP/1.0 without Host used to be served.
import t from 'tap';
import { rawSocket, startWorld } from '../helpers/world.js';

const proxy = await startWorld(t, { idp: false, public: true });
const { upstream } = proxy;

t.test('HTTP/1.0 and HTTP/1.1 without Host: 400, nothing forwarded', async (t) => {
  for (const version of ['1.0', '1.1']) {
    const res = await rawSocket(proxy.port, `GET /no-host-${version} HTTP/${version}\r\n\r\n`);
    t.equal(res.status, 400, `HTTP/${version}: 400`);
    t.notMatch(res.body, /\bat\b.*\.(js|ts):\d+/, `HTTP/${version}: no stack trace`);
  }
  const res = await rawSocket(proxy.port, 'GET /with-host HTTP/1.0\r\nHost: app.example\r\n\r\n');
  t.equal(res.status, 200, 'HTTP/1.0 with Host: served');
  t.notOk(
    upstream.requests.some((r) => r.url.startsWith('/no-host')),
    'none reached the upstream',
  );
});
