// Sign-out through the server ends the session: the same cookie is worth nothing afterwards.
import t from 'tap';
import { signIn } from '../helpers/browser.js';
import { forwardAuthSetup, get, NAVIGATE } from './harness.js';

for (const server of ['nginx', 'caddy'] as const) {
  t.test(`${server}: sign-out ends the session`, async (t) => {
    const s = await forwardAuthSetup(t, server);
    t.equal((await signIn(s.browser, `${s.front.url}/`, { login: 'alice' })).status, 200, 'signed in');
    const cookie = s.browser.cookieHeader(`${s.front.url}/`);
    t.ok(cookie, 'a session cookie for the server host');
    const before = await fetch(`${s.front.url}/data`, {
      headers: { cookie: String(cookie), accept: 'application/json' },
    });
    await before.arrayBuffer();
    t.equal(before.status, 200, 'the cookie works');
    const out = await s.browser.navigate(`${s.front.url}/.auth/logout`);
    t.ok(
      out.hops.some((h) => h.startsWith(s.idp.origin)),
      'sent on to the provider to sign out there too',
    );
    const after = await fetch(`${s.front.url}/data`, {
      headers: { cookie: String(cookie), accept: 'application/json' },
    });
    await after.arrayBuffer();
    t.equal(after.status, 401, 'the old cookie no longer passes');
    const nav = await get(`${s.front.url}/data`, { cookie: String(cookie), ...NAVIGATE });
    t.equal(nav.status, 302, 'a navigation goes to sign-in');
    t.match(nav.headers.location, /\/\.auth\/login\?post_login_redirect_uri=%2Fdata$/);
  });
}
