// The token service never injects an empty or malformed access token, whatever a 200 from the provider says.
//
// Issue 12 item 1 (the guard): whatever MSAL resolves with, a token that is not an RFC 6750
// b64token (empty, spaces, CR/LF that would split the header) is refused: 503, the session kept,
// nothing cached, the API never called; the next refresh works.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp, XHR } from '../helpers/world.js';

t.test('malformed access tokens from a refresh are never injected', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read', 'api://graph/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const graph = await startApi(idp, { audience: 'api://graph', scope: 'api://graph/read' });
  t.teardown(() => graph.close());
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      routes: [
        // The code redemption's access token is for the first resource: graph's needs a refresh.
        { name: 'orders', path: '/api/orders', target: upstream.url, scopes: ['api://orders/read'] },
        { name: 'graph', path: '/api/graph', target: graph.url, scopes: ['api://graph/read'] },
      ],
    },
  });
  t.teardown(() => aw.close());
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'eve' })).status, 200, 'signed in');

  const bad: [string, unknown][] = [
    ['empty', ''],
    ['missing', undefined],
    ['a space inside', 'abc def'],
    ['CR LF header injection', 'abc\r\nX-Injected: 1'],
    ['not a string', 12345],
  ];
  for (const [what, value] of bad) {
    idp.rewriteNextRefreshResponse((body) => {
      if (value === undefined) delete body.access_token;
      else body.access_token = value;
    });
    const refreshes = idp.counters.refreshToken;
    const res = await browser.fetch(`${aw.url}/api/graph/${encodeURIComponent(what)}`, { headers: XHR });
    t.equal(idp.counters.refreshToken - refreshes, 1, `${what}: the provider answered a refresh`);
    t.equal(res.status, 503, `${what}: 503`);
    t.match(await res.json(), { error: 'provider_unavailable' });
    t.equal(graph.requests.length, 0, `${what}: the API was not called`);
  }
  t.equal((await browser.fetch(`${aw.url}/.auth/me`)).status, 200, 'the session is kept');
  const ok = await browser.fetch(`${aw.url}/api/graph/ok`, { headers: XHR });
  t.equal(ok.status, 200, 'the next refresh works');
  t.equal(graph.requests.at(-1)?.claims?.sub, 'eve', 'with a verified token');
});
