// upstream.tokens: the default upstream gets X-MS-TOKEN-AAD-ACCESS-TOKEN (as App Service does); clients can never set it.

import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp, XHR } from '../helpers/world.js';

const FORGED = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.';

t.test('upstream.tokens', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read', 'api://graph/user.read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const graph = await startApi(idp, { audience: 'api://graph', scope: 'api://graph/user.read' });
  t.teardown(() => graph.close());
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      upstream: { tokens: ['api://orders/read'] },
      routes: [{ name: 'graph', path: '/graph', target: graph.url, scopes: ['api://graph/user.read'] }],
      publicRoutes: [{ path: '/public/*' }],
    },
  });
  t.teardown(() => aw.close());
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri), {
    [customFetch]: (url: string, init: RequestInit) => idp.fetch(url, { method: init.method ?? 'GET' }),
  });

  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'pat' })).status, 200, 'signed in');

  t.test('the default upstream gets a valid token and the identity headers', async (t) => {
    const res = await browser.fetch(`${aw.url}/app/page`, {
      headers: { ...XHR, 'X-MS-TOKEN-AAD-ACCESS-TOKEN': FORGED, x_ms_token_aad_access_token: FORGED },
    });
    t.equal(res.status, 200);
    const h = upstream.lastRequest?.headers ?? {};
    const token = h['x-ms-token-aad-access-token'];
    t.type(token, 'string', 'the token header is there');
    t.not(token, FORGED, "the client's copy was replaced");
    t.equal(h.x_ms_token_aad_access_token, undefined, 'the underscore spelling is dropped too');
    const raw = upstream.lastRequest?.rawHeaders ?? [];
    t.equal(
      raw.filter((n, i) => i % 2 === 0 && /^x[-_]ms[-_]token[-_]aad[-_]access[-_]token$/i.test(n)).length,
      1,
      'exactly one copy reaches the upstream',
    );
    const { payload } = await jwtVerify(String(token), jwks, {
      issuer: idp.issuer,
      audience: 'api://orders',
    });
    t.equal(payload.sub, 'pat', "the signed-in user's delegated token");
    t.match(String(payload.scope), /api:\/\/orders\/read/);
    t.equal(h['x-ms-client-principal-name'], 'pat@test.invalid', 'identity headers too');
    t.equal(h['x-forwarded-user'], 'pat');
    t.equal(h.authorization, undefined, 'the token is not sent as Authorization to the upstream');
  });

  t.test(
    'a route that injects its own bearer does not pass a client X-MS-TOKEN-AAD-ACCESS-TOKEN',
    async (t) => {
      const res = await browser.fetch(`${aw.url}/graph/me`, {
        headers: { ...XHR, 'x-ms-token-aad-access-token': FORGED },
      });
      t.equal(res.status, 200);
      const seen = graph.requests.at(-1);
      t.equal(seen?.headers['x-ms-token-aad-access-token'], undefined, 'stripped, not forwarded');
      t.equal(seen?.claims?.aud, 'api://graph', 'the route got its own token as Authorization');
    },
  );

  t.test('publicRoutes on the default upstream still work without a session', async (t) => {
    const anon = new Browser();
    t.teardown(() => anon.close());
    const res = await anon.fetch(`${aw.url}/public/logo.svg`, {
      headers: { ...XHR, 'x-ms-token-aad-access-token': FORGED },
    });
    t.equal(res.status, 200, 'served without sign-in');
    t.equal(upstream.lastRequest?.url, '/public/logo.svg');
    t.equal(
      upstream.lastRequest?.headers['x-ms-token-aad-access-token'],
      undefined,
      'no token, forged or real',
    );
    const nav = await anon.fetch(`${aw.url}/public/index.html`, {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
    });
    t.equal(nav.status, 200, 'a navigation is not sent to sign in either');

    // Signed in: public paths are not session-checked, so no token can be attached there; they must
    // not start a sign-in either (it would come back to the same path and start again).
    const signedIn = await browser.fetch(`${aw.url}/public/index.html`, {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
    });
    t.equal(signedIn.status, 200, 'a signed-in navigation to a public path is served, no sign-in loop');
  });
});
