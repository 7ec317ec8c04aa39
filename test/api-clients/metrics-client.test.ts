// Request metrics tell API clients from browsers: authward_http_requests_total carries a `client` label
// (api: bearer token, browser: session, anonymous: neither), read from /metrics after real traffic.
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { apiWorld, call, userToken } from './harness.js';

t.test('requests counted by client', async (t) => {
  const metricsPort = await freePort();
  const w = await apiWorld(t, 'oidc', {
    overrides: { metrics: { enabled: true, host: '127.0.0.1', port: metricsPort } },
  });
  const token = await userToken(w.idp, 'dora');
  for (const path of ['/a', '/b', '/c']) t.equal((await call(`${w.aw.url}${path}`, token)).status, 200);
  t.equal((await call(`${w.aw.url}/d`, 'not-a-token')).status, 401, 'a bad token is refused');
  t.equal((await call(`${w.aw.url}/e`, undefined)).status, 401, 'no credentials: refused');
  const browser = new Browser({ ca: w.idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${w.aw.url}/`, { login: 'mia' })).status, 200);

  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const count = (statusClass: string, client: string) =>
    Number(
      new RegExp(
        `authward_http_requests_total\\{route="upstream",status_class="${statusClass}",client="${client}"\\} (\\d+)`,
      ).exec(text)?.[1] ?? 0,
    );
  t.equal(count('2xx', 'api'), 3, 'three answers to the API client');
  t.equal(count('2xx', 'browser'), 1, 'one answer to the signed-in browser');
  t.equal(count('4xx', 'api'), 0, 'a refused token is no API client');
  t.equal(count('4xx', 'anonymous'), 2, 'the bad token and the bare request: anonymous 401s');
  t.notMatch(text, /dora|mia/, 'no user identifiers');
});
