// session.cookieDomain: the session cookie authward writes carries Domain= and the __Secure- prefix.
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../helpers/config.js';

t.test('a shared session cookie: Domain, __Secure-, Secure, HttpOnly, SameSite=Lax', async (t) => {
  const config = testConfig({
    publicUrl: 'https://auth.example.com',
    session: { cookieDomain: 'example.com' },
    publicRoutes: [{ path: '/probe' }],
  });
  const app = await buildApp(config);
  t.teardown(() => app.close());
  // Any write to the session makes the plugin set its cookie with the configured attributes.
  app.get('/probe', async (request) => {
    request.session.set('probe' as never, 1 as never);
    return 'ok';
  });
  const res = await app.inject({ url: '/probe', headers: { host: 'auth.example.com' } });
  t.equal(res.statusCode, 200);
  const cookie = String(res.headers['set-cookie']);
  t.match(cookie, /^__Secure-authward=/, 'the __Secure- prefix');
  t.match(cookie, /; Domain=example\.com/i, 'shared with the hosts under the domain');
  t.match(cookie, /; Secure/i);
  t.match(cookie, /; HttpOnly/i);
  t.match(cookie, /; SameSite=Lax/i);
  t.notMatch(cookie, /__Host-/);
});
