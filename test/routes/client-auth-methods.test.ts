// client_secret_basic for providers that take only it; a refused client is a configuration error, not an outage.
//
// Issue 12: only client_secret_post was sent, and a provider answering invalid_client showed
// "503 identity provider unavailable, try again shortly". Now: the method comes from discovery's
// token_endpoint_auth_methods_supported (or identity.clientAuthMethod), and invalid_client /
// unauthorized_client give a log line naming the cause, readiness not ready, a 500 page with no retry.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, startApp, XHR } from '../helpers/world.js';

const BASIC_ONLY = ['client_secret_basic', 'private_key_jwt'];

t.test('a provider that takes client_secret_basic only', async (t) => {
  const idp = await startIdp({
    apiScopes: ['api://orders/read', 'api://graph/read'],
    clientAuthMethods: BASIC_ONLY,
  });
  t.teardown(() => idp.close());
  t.same(idp.discovery.token_endpoint_auth_methods_supported, BASIC_ONLY, 'discovery lists Basic only');
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const graph = await startApi(idp, { audience: 'api://graph', scope: 'api://graph/read' });
  t.teardown(() => graph.close());
  const orders = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => orders.close());
  const routes = [
    { name: 'orders', path: '/api/orders', target: orders.url, scopes: ['api://orders/read'] },
    { name: 'graph', path: '/api/graph', target: graph.url, scopes: ['api://graph/read'] },
    { name: 'app', path: '/app-api', target: orders.url, scopes: ['api://orders/read'], token: 'app' },
  ];

  t.test('auto: Basic chosen from discovery; sign-in, refresh and app tokens work', async (t) => {
    const aw = await startApp({ idp, upstreamUrl: upstream.url, overrides: { routes } });
    t.teardown(() => aw.close());
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    t.equal((await signIn(browser, `${aw.url}/`, { login: 'bo' })).status, 200, 'signed in (code redeemed)');
    const refreshes = idp.counters.refreshToken;
    const res = await browser.fetch(`${aw.url}/api/graph/1`, { headers: XHR });
    t.equal(res.status, 200, 'a route whose token needs a refresh');
    t.equal(idp.counters.refreshToken - refreshes, 1, 'one refresh');
    t.equal(graph.requests.at(-1)?.claims?.sub, 'bo');
    const app = await browser.fetch(`${aw.url}/app-api/x`, { headers: XHR });
    t.equal(app.status, 200, 'an app-token route (client credentials)');
    t.equal(orders.requests.at(-1)?.claims?.sub, idp.clients.secret.clientId);
    t.equal(idp.counters.tokenErrors, 0, 'the provider refused nothing');
  });

  t.test('client_secret_post forced: invalid_client is a configuration error', async (t) => {
    const { logger, lines } = captureLogger('info');
    const aw = await startApp({
      idp,
      upstreamUrl: upstream.url,
      logger,
      overrides: { identity: { clientAuthMethod: 'client_secret_post' }, routes },
    });
    t.teardown(() => aw.close());
    t.equal(aw.app.readiness.ready, true, 'ready at start (discovery works)');
    t.ok(
      lines.some(
        (l) => l.event === 'config' && /clientAuthMethod client_secret_post is not in/.test(String(l.msg)),
      ),
      'a start-up warning: the forced method is not one the provider lists',
    );
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    const page = await signIn(browser, `${aw.url}/`, { login: 'bo' });
    t.equal(page.status, 500, 'the callback answers 500');
    t.match(page.body, /misconfigured/, 'the page says it is a configuration problem');
    t.notMatch(page.body, /try again|shortly/i, 'and promises no retry');
    const logged = lines.filter((l) => l.event === 'provider_config');
    t.equal(logged.length, 1, 'one log line for the cause');
    t.match(logged[0]?.msg, /invalid_client/, 'naming invalid_client');
    t.match(logged[0]?.msg, /identity\.clientAuthMethod/, 'and what to check');
    t.notMatch(JSON.stringify(lines), new RegExp(idp.clients.secret.clientSecret), 'no secret logged');
    t.equal(aw.app.readiness.ready, false, 'readiness: not ready');
    const readyz = await fetch(`${aw.url}/readyz`);
    t.equal(readyz.status, 503, '/readyz 503');
    await readyz.arrayBuffer();

    const app = await fetch(`${aw.url}/app-api/x`, { headers: XHR });
    t.equal(app.status, 401, 'anonymous callers still need a session first');
    await app.arrayBuffer();
  });

  t.test('a wrong client secret: the same configuration error for app tokens', async (t) => {
    const { logger, lines } = captureLogger('info');
    const aw = await startApp({
      idp,
      upstreamUrl: upstream.url,
      logger,
      overrides: {
        identity: { clientSecret: 'not-the-secret' },
        routes: [{ ...routes[2], public: true }],
        publicRoutes: [{ path: '/app-api/*' }],
      },
    });
    t.teardown(() => aw.close());
    const res = await fetch(`${aw.url}/app-api/x`, { headers: XHR });
    t.equal(res.status, 500, 'app-token route: 500');
    const body = (await res.json()) as { error: string; message: string };
    t.equal(body.error, 'provider_config');
    t.notMatch(body.message, /try again|shortly/i, 'no retry promised');
    t.equal(lines.filter((l) => l.event === 'provider_config').length, 1, 'logged once');
    t.equal(aw.app.readiness.ready, false, 'not ready');
  });
});
