import t from 'tap';
import { startUpstream } from '../helpers/upstream.js';
import { rawRequest, startProxy } from '../proxy/proxy-app.js';
t.test('x', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startProxy(t, upstream.url, { publicRoutes: [] });
  for (const p of ['/healthz', '/readyz', '/.auth/me', '/.auth/login/aad/callback', '/.auth/logout']) {
    const r = await rawRequest(proxy.port, `HEAD ${p} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    console.log('HEAD', p, r.status);
  }
});
