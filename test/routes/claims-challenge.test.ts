// A downstream claims challenge (401 insufficient_claims) sends the user to sign in with those claims, then back.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { NAV, startApp, XHR } from '../helpers/world.js';

const CHALLENGE = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
const claimsOf = (q: Record<string, unknown> | undefined) =>
  JSON.parse(String(q?.claims ?? '{}')) as Record<string, Record<string, unknown>>;

t.test('claims challenges from a downstream API', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read', 'api://graph/user.read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const orders = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => orders.close());
  const routes = [
    { name: 'orders', path: '/api/orders', target: orders.url, scopes: ['api://orders/read'] },
    { name: 'wrong', path: '/api/wrong-audience', target: orders.url, scopes: ['api://graph/user.read'] },
  ];
  const aw = await startApp({ idp, upstreamUrl: upstream.url, overrides: { routes } });
  t.teardown(() => aw.close());

  t.test('browser navigation: sign in with the claims, back on the URL, 200', async (t) => {
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    t.equal((await signIn(browser, `${aw.url}/`, { login: 'gina' })).status, 200, 'signed in');
    const target = `${aw.url}/api/orders/secure?id=3`;
    orders.challengeNext(CHALLENGE);
    const before = orders.requests.length;
    const authorizeBefore = idp.counters.authorize;
    const done = await signIn(browser, target, { login: 'gina' });
    t.equal(done.hops[0], target, 'the navigation started on the route');
    const location = new URL(done.hops[1] ?? '');
    t.equal(
      `${location.origin}${location.pathname}`,
      idp.discovery.authorization_endpoint,
      'the challenge sent the browser straight to the provider',
    );
    t.same(
      JSON.parse(location.searchParams.get('claims') ?? '{}').access_token,
      { acrs: { essential: true, value: 'c1' } },
      'the authorization request carries the claims the API asked for',
    );
    t.equal(idp.counters.authorize - authorizeBefore, 1, 'one trip to the provider (no sign-in loop)');
    t.same(
      claimsOf(idp.authorizeRequests.at(-1)).access_token,
      { acrs: { essential: true, value: 'c1' } },
      'the provider received the claims',
    );
    t.equal(orders.requests.length - before, 2, 'the API saw the challenged call and the retried one');
    t.not(
      orders.requests.at(-1)?.headers.authorization,
      orders.requests.at(-2)?.headers.authorization,
      'the retry carried a new token, not the challenged one',
    );
    t.equal(done.url, target, 'back on the URL');
    t.equal(done.status, 200, 'the API accepted the new token');
    t.equal(orders.requests.at(-1)?.claims?.sub, 'gina');
    t.equal(orders.requests.at(-1)?.refused, undefined);

    orders.challengeNext(CHALLENGE);
    const res = await browser.fetch(target, { headers: NAV });
    t.equal(res.status, 302, 'a challenged navigation is redirected, never shown the API 401');
    t.equal(res.headers.get('www-authenticate'), null, "the API's challenge header is not forwarded");
    t.equal(res.headers.get('content-type'), null, "nor the API's other headers");
  });

  t.test('XHR: 401 JSON with the claims and a loginUrl', async (t) => {
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    t.equal((await signIn(browser, `${aw.url}/`, { login: 'hank' })).status, 200, 'signed in');
    orders.challengeNext(CHALLENGE);
    const res = await browser.fetch(`${aw.url}/api/orders/secure`, { headers: XHR });
    t.equal(res.status, 401);
    const body = (await res.json()) as { error: string; claims: string; loginUrl: string };
    t.equal(body.error, 'interaction_required');
    t.same(JSON.parse(body.claims), JSON.parse(CHALLENGE), 'the decoded claims are returned');
    const login = new URL(body.loginUrl, aw.url);
    t.equal(login.origin, aw.url, 'same-origin loginUrl');
    t.same(
      JSON.parse(login.searchParams.get('claims') ?? '{}'),
      JSON.parse(CHALLENGE),
      'loginUrl carries them',
    );
    t.equal(login.searchParams.get('post_login_redirect_uri'), '/api/orders/secure');

    const challenged = orders.requests.at(-1)?.headers.authorization;
    const done = await signIn(browser, login.href, { login: 'hank' });
    t.same(claimsOf(idp.authorizeRequests.at(-1)).access_token, { acrs: { essential: true, value: 'c1' } });
    t.equal(done.status, 200, 'following loginUrl ends on the API call, answered');
    t.equal(orders.requests.at(-1)?.claims?.sub, 'hank');
    t.not(orders.requests.at(-1)?.headers.authorization, challenged, 'with a new token');
  });

  t.test('any other 401 from the API is passed through untouched', async (t) => {
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    t.equal((await signIn(browser, `${aw.url}/`, { login: 'ivan' })).status, 200, 'signed in');
    // A token for another audience: the API refuses it with invalid_token, not insufficient_claims.
    const res = await browser.fetch(`${aw.url}/api/wrong-audience/x`, { headers: NAV });
    t.equal(res.status, 401, "the API's 401 reaches the client");
    t.match(res.headers.get('www-authenticate'), /invalid_token/, 'with its own challenge');
    t.match(await res.json(), { error: 'invalid_token' }, 'and its own body');
    t.match(orders.requests.at(-1)?.refused, /aud/, 'the API refused the audience');
  });

  t.test('clientCapabilities [cp1]: MSAL merges xms_cc into the claims', async (t) => {
    const cp = await startApp({
      idp,
      upstreamUrl: upstream.url,
      overrides: { routes, identity: { clientCapabilities: ['cp1'] } },
    });
    t.teardown(() => cp.close());
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    t.equal((await signIn(browser, `${cp.url}/`, { login: 'judy' })).status, 200, 'signed in');
    t.same(
      claimsOf(idp.authorizeRequests.at(-1)).access_token?.xms_cc,
      { values: ['cp1'] },
      'a plain sign-in announces cp1',
    );
    orders.challengeNext(CHALLENGE);
    const target = `${cp.url}/api/orders/secure`;
    const done = await signIn(browser, target, { login: 'judy' });
    const sent = claimsOf(idp.authorizeRequests.at(-1)).access_token;
    t.same(sent?.xms_cc, { values: ['cp1'] }, 'cp1 is kept next to the challenge');
    t.same(sent?.acrs, { essential: true, value: 'c1' }, 'and the challenge is merged in');
    t.equal(done.url, target);
    t.equal(done.status, 200);
  });
});
