// OIDC redirect loop: a browser whose session cookie never comes back (dropped, wrong scheme or host,
// replicas that do not share sessions) used to bounce between authward and the provider forever. After
// LOOP_LIMIT sign-ins within LOOP_WINDOW seconds it now gets a page that names the likely cause.
import t from 'tap';
import { LOOP_LIMIT } from '../../src/auth/sign-in-loop.js';
import { cookieNames } from '../../src/session/cookie.js';
import { Browser, CookieDroppingBrowser, signIn } from '../helpers/browser.js';
import { testConfig } from '../helpers/config.js';
import { rawRequest, startWorld } from '../helpers/world.js';

t.test('sign-in loops are stopped with an explanation', async (t) => {
  const aw = await startWorld(t, {});
  const { idp, upstream } = aw;
  const callback = `${aw.url}/.auth/login/aad/callback`;

  const dropping = new CookieDroppingBrowser({ ca: idp.caPem });
  t.teardown(() => dropping.close());
  const page = await signIn(dropping, `${aw.url}/app`, { login: 'alice', maxSteps: 3 * LOOP_LIMIT + 3 });
  const rounds = page.hops.filter((h) => h.startsWith(callback)).length;
  t.equal(rounds, LOOP_LIMIT, `${LOOP_LIMIT} sign-ins, then it stops`);
  t.equal(page.status, 508, 'a 508 page instead of another trip to the provider');
  t.match(page.response.headers.get('content-type'), /text\/html/);
  t.match(page.body, /sign-in loop stopped/);
  t.match(page.body, new RegExp(`signed in ${LOOP_LIMIT} times`));
  t.match(page.body, /tokenCache\.type memory/, 'names the usual causes');
  t.equal(page.response.headers.get('cache-control'), 'no-store');
  t.match(page.response.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  t.equal(upstream.requests.length, 0, 'the app never saw the looping browser');

  // It stays stopped: another attempt (a reload) gets the page again, not the provider.
  const again = await dropping.navigate(`${aw.url}/app`);
  t.equal(again.status, 508);
  t.same(again.hops, [`${aw.url}/app`]);
  // An API caller of /.auth/login gets the same reasons as JSON.
  const loopCookie = dropping.cookieHeader(`${aw.url}/`) as string;
  t.match(loopCookie, /authward-loop=/);
  const json = await rawRequest(aw.url, '/.auth/login', { headers: { cookie: loopCookie } });
  t.equal(json.status, 508);
  t.match(JSON.parse(json.body), { error: 'sign_in_loop', hints: Array });

  // Reached on another host than publicUrl's: the page says so, escaped.
  const elsewhere = await rawRequest(aw.url, '/app', {
    headers: { host: 'wrong.example:81', cookie: loopCookie, accept: 'text/html' },
  });
  t.equal(elsewhere.status, 508);
  t.match(elsewhere.body, /wrong\.example:81/);
  t.match(elsewhere.body, /but publicUrl is http:\/\/127\.0\.0\.1/);
  // A Host that is not host[:port] never gets that far (forwarded-host-from-public-url).
  const markup = await rawRequest(aw.url, '/app', {
    headers: { host: 'wrong.example:81"><script>x</script>', cookie: loopCookie, accept: 'text/html' },
  });
  t.equal(markup.status, 400);
  t.notMatch(markup.body, /<script/, 'the Host header is not echoed');

  // Control: a browser that keeps its cookie signs in again and again without ever tripping it.
  const normal = new Browser({ ca: idp.caPem });
  t.teardown(() => normal.close());
  for (let i = 0; i <= LOOP_LIMIT + 1; i++) {
    const p = await signIn(normal, `${aw.url}/.auth/login?post_login_redirect_uri=/n${i}`, {
      login: 'alice',
    });
    t.equal(p.status, 200, `sign-in ${i + 1}: back on the app`);
    t.equal(p.url, `${aw.url}/n${i}`);
    t.notOk(normal.cookie(aw.url, 'authward-loop'), 'the first request with a session clears the counter');
    t.notMatch(
      String(upstream.lastRequest?.headers.cookie ?? ''),
      /authward/,
      'and it never reaches the app',
    );
  }
});

t.test('the counter cookie survives where the session cookie does not', async (t) => {
  const names = cookieNames(testConfig({ publicUrl: 'https://app.example.com' }));
  t.equal(names.session, '__Host-authward');
  t.equal(names.loop, 'authward-loop', 'no __Host- prefix: it must not need https');
  t.ok(names.isOwn(names.loop), 'stripped before forwarding like every authward cookie');
});
