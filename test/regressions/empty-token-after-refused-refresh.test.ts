// A refresh refused with no OAuth error body (empty 400, HTML page) ends the grant; never `Authorization: Bearer `.
//
// Issue 12 item 1: the network client turned an empty 400 into `{}`, MSAL saw no `error` field and
// resolved with accessToken "", and the API got "Bearer " with nothing after it on every call.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { NAV, startApp, XHR } from '../helpers/world.js';

for (const refreshErrorBody of ['empty', 'html'] as const) {
  t.test(`refused refresh with an ${refreshErrorBody} body`, async (t) => {
    const idp = await startIdp({ apiScopes: ['api://orders/read', 'api://graph/read'], refreshErrorBody });
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
          // The code redemption's access token is for the first resource: the second needs a refresh.
          { name: 'orders', path: '/api/orders', target: upstream.url, scopes: ['api://orders/read'] },
          { name: 'graph', path: '/api/graph', target: graph.url, scopes: ['api://graph/read'] },
        ],
      },
    });
    t.teardown(() => aw.close());
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());

    // The graph token is not minted at sign-in: its first call is a refresh, refused here.
    t.equal((await signIn(browser, `${aw.url}/`, { login: 'ana' })).status, 200, 'signed in');
    t.ok((await idp.revokeRefreshTokens('ana')) > 0, 'grant revoked at the provider');
    const errors = idp.counters.tokenErrors;
    const xhr = await browser.fetch(`${aw.url}/api/graph/1`, { headers: XHR });
    t.equal(idp.counters.tokenErrors - errors, 1, 'the refresh was refused');
    t.equal(xhr.status, 401, 'XHR: 401');
    t.equal(((await xhr.json()) as { error: string }).error, 'unauthenticated', 'sign in again');
    t.equal(graph.requests.length, 0, 'the API was never called (no empty bearer token)');
    t.equal((await browser.fetch(`${aw.url}/.auth/me`)).status, 401, 'the session ended');

    t.equal((await signIn(browser, `${aw.url}/`, { login: 'ana' })).status, 200, 'signed in again');
    t.ok((await idp.revokeRefreshTokens('ana')) > 0, 'grant revoked again');
    const nav = await browser.fetch(`${aw.url}/api/graph/2`, { headers: NAV });
    t.equal(nav.status, 302, 'navigation: redirected');
    const location = new URL(nav.headers.get('location') ?? '');
    t.equal(`${location.origin}${location.pathname}`, idp.discovery.authorization_endpoint, 'to sign in');
    t.equal(graph.requests.length, 0, 'still no call reached the API');

    const again = await signIn(browser, `${aw.url}/api/graph/3`, { login: 'ana' });
    t.equal(again.status, 200, 'signing in again lands on the route');
    t.equal(graph.requests.at(-1)?.refused, undefined, 'with a valid token');
  });
}
