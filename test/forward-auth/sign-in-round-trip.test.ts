// Through nginx (auth_request) and caddy (forward_auth): an unauthenticated navigation signs in and comes
// back to the original URL on the original host; the backend then gets the identity headers the server
// copied from authward's answer, never the client's own.
import t from 'tap';
import { signIn } from '../helpers/browser.js';
import { forwardAuthSetup } from './harness.js';

for (const server of ['nginx', 'caddy'] as const) {
  t.test(`${server}: sign-in round trip, identity headers at the backend`, async (t) => {
    const s = await forwardAuthSetup(t, server);
    const start = `${s.front.url}/reports/q3?year=2026&x=a%20b`;
    const page = await signIn(s.browser, start, { login: 'alice' });
    t.equal(page.status, 200, `signed in (${await s.front.log().then((l) => l.slice(-400))})`);
    t.equal(page.url, start, 'back on the original URL, on the original host');
    t.ok(
      page.hops.some((h) => h.startsWith(`${s.front.url}/.auth/login?`)),
      'went through sign-in',
    );
    const seen = s.backend.lastRequest;
    t.equal(seen?.url, '/reports/q3?year=2026&x=a%20b', 'the backend got the original request');
    t.equal(seen?.headers['x-forwarded-user'], 'alice', 'X-Forwarded-User from authward');
    t.equal(seen?.headers['x-ms-client-principal-id'], 'alice', 'X-MS-CLIENT-PRINCIPAL-ID from authward');
    const blob = Buffer.from(String(seen?.headers['x-ms-client-principal']), 'base64').toString();
    t.ok(JSON.parse(blob).claims, 'the principal blob too (base64 JSON, not placeholder text)');

    // Signed in: the next navigation passes at once, and a client's own identity headers never arrive.
    const again = await s.browser.navigate(`${s.front.url}/other`, {
      headers: { 'x-forwarded-user': 'mallory', 'x-ms-client-principal-id': 'mallory' },
    });
    if (server === 'nginx') {
      // nginx sends the client's copies to verify: refused (identity-family.test.ts).
      t.equal(again.status, 403, 'spoofed identity headers: refused');
      const clean = await s.browser.navigate(`${s.front.url}/other`);
      t.equal(clean.status, 200);
      t.equal(clean.hops.length, 1, 'no detour through sign-in');
    } else {
      // The Caddyfile deletes the names it copies before asking: authward's values replace them.
      t.equal(again.status, 200);
      t.equal(again.hops.length, 1, 'no detour through sign-in');
      t.equal(
        s.backend.lastRequest?.headers['x-forwarded-user'],
        'alice',
        'spoofed X-Forwarded-User replaced',
      );
      t.equal(s.backend.lastRequest?.headers['x-ms-client-principal-id'], 'alice');
    }

    // An XHR without a session: 401 from nginx, no redirect.
    const anon = await fetch(`${s.front.url}/data`, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
    });
    t.equal(anon.status, 401, 'no session, not a navigation: 401');
  });
}
