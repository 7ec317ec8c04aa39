// One authward for two hosts behind nginx over https (forwardAuth.allowedHosts + session.cookieDomain):
// a navigation on the other host signs in on publicUrl's host and comes back to the other host, whose
// requests are then recognised through the shared `__Secure-` cookie (Domain=aw.localtest), and so are
// publicUrl's; a return target on a host the list does not name is refused (back to `/`).
import t from 'tap';
import { signIn } from '../helpers/browser.js';
import { forwardAuthSetup } from './harness.js';

const APP = 'app.aw.localtest';
const OTHER = 'other.aw.localtest';

t.test('nginx, two hosts: sign in on one, recognised on both', async (t) => {
  const s = await forwardAuthSetup(
    t,
    'nginx',
    { session: { cookieDomain: 'aw.localtest' } },
    { hosts: [APP, OTHER] },
  );
  const app = `https://${APP}:${s.front.port}`;
  const other = `https://${OTHER}:${s.front.port}`;

  const start = `${other}/dashboard?tab=2`;
  const page = await signIn(s.browser, start, { login: 'alice' });
  t.equal(page.status, 200, `signed in (${page.url})`);
  t.equal(page.url, start, 'back on the original URL, on the other host');
  t.ok(
    page.hops.some((h) => h.startsWith(`${app}/.auth/login?`)),
    "signed in on publicUrl's host",
  );
  t.equal(s.backend.lastRequest?.headers.host, `${OTHER}:${s.front.port}`, 'the other host was served');
  t.equal(s.backend.lastRequest?.headers['x-forwarded-user'], 'alice', 'as alice');

  const session = s.browser.cookies(start).find((c) => c.name === '__Secure-authward');
  t.ok(session, 'the session cookie is __Secure-authward');
  t.equal(session?.scope, 'aw.localtest', 'shared with the hosts under the domain');
  t.equal(session?.hostOnly, false);
  t.equal(session?.secure, true);
  t.notOk(
    s.browser.cookies().some((c) => c.name.startsWith('__Host-authward')),
    'no host-only session cookie',
  );

  const there = await s.browser.navigate(`${app}/reports`);
  t.equal(there.status, 200);
  t.equal(there.hops.length, 1, "publicUrl's host: recognised at once, no sign-in");
  t.equal(s.backend.lastRequest?.headers.host, `${APP}:${s.front.port}`);
  t.equal(s.backend.lastRequest?.headers['x-forwarded-user'], 'alice');
  const back = await s.browser.navigate(`${other}/settings`);
  t.equal(back.hops.length, 1, 'and the other host again');
  t.equal(s.backend.lastRequest?.headers['x-forwarded-user'], 'alice');

  // Return targets on hosts the list does not name: the sign-in ends on `/` of publicUrl instead.
  for (const target of [
    `https://evil.localtest:${s.front.port}/steal`,
    `https://third.aw.localtest:${s.front.port}/x`, // under the cookie domain, but not listed
  ]) {
    // (Two: a third sign-in this quickly is the sign-in loop guard's. Ports, userinfo, suffix tricks:
    // test/regressions/open-redirect-return-targets.)
    const login = `${app}/.auth/login?${new URLSearchParams({ post_login_redirect_uri: target })}`;
    const refused = await signIn(s.browser, login, { login: 'alice' });
    t.equal(refused.url, `${app}/`, `${target}: refused, back to / on publicUrl`);
    t.notOk(
      refused.hops.some((h) => h.startsWith(target)),
      'never sent there',
    );
  }
});
