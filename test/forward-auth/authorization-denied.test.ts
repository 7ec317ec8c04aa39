// Authorization rules apply to the original URI: a signed-in user a rule does not allow gets 403 and
// the backend never sees the request.
import t from 'tap';
import { signIn } from '../helpers/browser.js';
import { forwardAuthSetup } from './harness.js';

for (const server of ['nginx', 'caddy'] as const) {
  t.test(`${server}: /admin (allowedUsers: root) denies alice with 403`, async (t) => {
    const s = await forwardAuthSetup(t, server);
    t.equal((await signIn(s.browser, `${s.front.url}/`, { login: 'alice' })).status, 200, 'signed in');
    s.backend.reset();
    const denied = await s.browser.fetch(`${s.front.url}/admin/users`, { headers: { accept: 'text/html' } });
    await denied.arrayBuffer();
    t.equal(denied.status, 403, 'denied');
    const upper = await s.browser.fetch(`${s.front.url}/ADMIN/users`, { headers: { accept: 'text/html' } });
    await upper.arrayBuffer();
    t.equal(upper.status, 403, 'the rule matches case-insensitively, as in proxy mode');
    t.equal(s.backend.requests.length, 0, 'the backend never saw them');
    const allowed = await s.browser.fetch(`${s.front.url}/reports`);
    await allowed.arrayBuffer();
    t.equal(allowed.status, 200, 'elsewhere alice passes');
  });
}
