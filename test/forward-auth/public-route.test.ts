// publicRoutes apply to the original URI: served without sign-in, and with no identity headers (a client's
// own identity header on one: identity-family.test.ts).
import t from 'tap';
import { forwardAuthSetup, get, NAVIGATE } from './harness.js';

for (const server of ['nginx', 'caddy'] as const) {
  t.test(`${server}: a public route is served without a session`, async (t) => {
    const s = await forwardAuthSetup(t, server);
    const res = await fetch(`${s.front.url}/public/readme?x=1`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    await res.arrayBuffer();
    t.equal(res.status, 200, 'served, no redirect to sign-in');
    t.equal(s.backend.lastRequest?.url, '/public/readme?x=1');
    // (caddy 2.6 sends the answer's empty header on: present but empty, never the client's value)
    t.notOk(s.backend.lastRequest?.headers['x-forwarded-user'], 'no identity for a public path');
    const protectedPage = await get(`${s.front.url}/publicity`, NAVIGATE);
    t.equal(
      protectedPage.status,
      302,
      'a path merely starting with the prefix is protected (segment-wise match)',
    );
  });
}
