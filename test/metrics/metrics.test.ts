// /metrics on its own port exposes request, sign-in, token and dependency series after real traffic.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { startApp } from '../helpers/app.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';

t.test('metrics after a sign-in and a routed request', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const api = await startApi(idp, { audience: 'api://orders' });
  t.teardown(() => api.close());
  const metricsPort = await freePort();
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      metrics: { enabled: true, host: '127.0.0.1', port: metricsPort },
      routes: [{ name: 'orders', path: '/orders', target: api.url, scopes: ['api://orders/read'] }],
    },
  });
  t.teardown(() => aw.close());

  const browser = new Browser({ ca: idp.caPem });
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'mia' })).status, 200);
  t.equal((await browser.fetch(`${aw.url}/orders/1`)).status, 200);
  t.equal((await browser.fetch(`${aw.url}/orders/2`)).status, 200);

  const onMain = await fetch(`${aw.url}/metrics`);
  t.not(
    onMain.headers.get('content-type')?.startsWith('text/plain; version'),
    true,
    'not served on the proxy port',
  );
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  t.equal(res.status, 200);
  const text = await res.text();
  t.match(text, /authward_http_requests_total\{route="orders",status="2xx"\} 2/);
  t.match(text, /authward_http_requests_total\{route="upstream",status="2xx"\} 1/);
  t.match(text, /authward_sign_ins_total\{result="ok",reason=""\} 1/);
  t.match(text, /authward_token_acquisitions_total\{route="orders",source="(store|refresh)"\} 1/);
  t.match(text, /authward_token_acquisitions_total\{route="orders",source="l1"\} 1/);
  t.match(text, /authward_dependency_up\{dependency="provider"\} 1/);
  t.match(text, /authward_dependency_up\{dependency="tokenStore"\} 1/);
  t.match(text, /authward_ready 1/);
  t.notMatch(text, /mia/, 'no user identifiers in metrics');
});
