// Host header attacks: neither Host nor X-Forwarded-Host (trusted or not) changes the redirect URI or any
// Location authward emits; publicUrl alone decides them.
import t from 'tap';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { authorizeOnly, CapturingBrowser, rawRequest, startApp } from '../helpers/world.js';

const EVIL = {
  host: 'evil.example',
  'x-forwarded-host': 'evil-forwarded.example',
  'x-forwarded-proto': 'https',
  forwarded: 'host=evil-forwarded.example;proto=https',
};
const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };

t.test('Host and X-Forwarded-Host never reach a Location', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());

  for (const trustProxy of [false, true]) {
    await t.test(`trustProxy ${trustProxy}`, async (t) => {
      const aw = await startApp({ idp, upstreamUrl: upstream.url, overrides: { trustProxy } });
      t.teardown(() => aw.close());
      const callback = `${aw.url}/.auth/login/aad/callback`;
      const noEvil = (what: string, location: unknown) => {
        t.type(location, 'string', `${what}: a Location`);
        t.notMatch(String(location), /evil/, `${what}: nothing of the forged host`);
      };

      // The sign-in redirect: redirect_uri is publicUrl's, whatever the request said.
      for (const path of ['/deep/page', '/.auth/login?post_login_redirect_uri=/x']) {
        const res = await rawRequest(aw.url, path, { headers: { ...NAVIGATE, ...EVIL } });
        t.equal(res.status, 302, `${path}: 302`);
        noEvil(path, res.headers.location);
        const location = new URL(String(res.headers.location));
        t.equal(location.searchParams.get('redirect_uri'), callback, `${path}: redirect_uri from publicUrl`);
      }
      // The 401 for API callers: a relative loginUrl, nothing host-derived.
      const api = await rawRequest(aw.url, '/api/x', { headers: { accept: 'application/json', ...EVIL } });
      t.equal(api.status, 401);
      t.match(JSON.parse(api.body).loginUrl, /^\/\.auth\/login\?/);
      t.notMatch(api.body, /evil/);

      // The callback: its Location is the stored return path, relative, on a forged Host too.
      const browser = new CapturingBrowser({ ca: idp.caPem });
      t.teardown(() => browser.close());
      const cb = new URL(
        await authorizeOnly(
          browser,
          `${aw.url}/.auth/login?post_login_redirect_uri=/landing`,
          callback,
          'alice',
        ),
      );
      const cookie = browser.cookieHeader(callback) as string;
      const done = await rawRequest(aw.url, `${cb.pathname}${cb.search}`, {
        headers: { ...NAVIGATE, ...EVIL, cookie },
      });
      t.equal(done.status, 302, 'the callback signs in');
      t.equal(done.headers.location, '/landing', 'and sends the browser to the path it asked for');
      const session = [done.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('authward='));
      t.ok(session, 'a session cookie');
      t.notMatch(String(session), /domain/i, 'host-only: no Domain taken from the Host header');

      // Sign-out: the provider is told publicUrl's address to return to.
      const sessionCookie = String(session).split(';', 1)[0] as string;
      const out = await rawRequest(aw.url, '/.auth/logout?post_logout_redirect_uri=/bye', {
        method: 'POST',
        headers: { ...EVIL, origin: aw.url, cookie: sessionCookie },
        body: '',
      });
      t.equal(out.status, 302);
      noEvil('logout', out.headers.location);
      const end = new URL(String(out.headers.location));
      t.equal(end.searchParams.get('post_logout_redirect_uri'), `${aw.url}/.auth/logout/complete`);
      // An Origin equal to the forged Host is not "same origin".
      const crossSite = await rawRequest(aw.url, '/.auth/logout', {
        method: 'POST',
        headers: { ...EVIL, origin: 'http://evil.example', cookie: sessionCookie },
        body: '',
      });
      t.equal(crossSite.status, 403, 'Origin matching the forged Host is still cross-site');
    });
  }
});
