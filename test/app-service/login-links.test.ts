// App Service's sign-in links: /.auth/login/aad and /.auth/login/<provider name> start the sign-in like
// /.auth/login, post_login_redirect_uri included (same-origin only); another provider's name is 404.
import t from 'tap';
import { request } from 'undici';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp } from '../helpers/world.js';

const idp = await startIdp();
t.teardown(() => idp.close());
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const app = await startApp({ idp, upstreamUrl: upstream.url });
t.teardown(() => app.close());
const providerName = new URL(idp.issuer).host; // X-MS-CLIENT-PRINCIPAL-IDP of an oidc provider

for (const name of ['aad', 'AAD', providerName]) {
  t.test(`/.auth/login/${name} signs in and returns to post_login_redirect_uri`, async (t) => {
    const b = new Browser({ ca: idp.caPem });
    t.teardown(() => b.close());
    const page = await signIn(b, `${app.url}/.auth/login/${name}?post_login_redirect_uri=/after/login`, {
      login: 'ola',
    });
    t.equal(page.status, 200);
    t.equal(page.url, `${app.url}/after/login`, 'back at the target');
    const me = await b.fetch(`${app.url}/.auth/me`);
    t.equal(me.status, 200, 'signed in');
    await me.arrayBuffer();
  });
}

t.test('a return target on another origin is not followed', async (t) => {
  const res = await request(
    `${app.url}/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent('https://evil.example/')}`,
    { headers: { accept: 'text/html' } },
  );
  await res.body.dump();
  t.equal(res.statusCode, 302, 'the sign-in starts');
  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  const page = await signIn(
    b,
    `${app.url}/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent('https://evil.example/x')}`,
    {
      login: 'pia',
    },
  );
  t.equal(new URL(page.url).origin, app.url, 'and ends on this origin');
});

t.test("another provider's name is 404", async (t) => {
  for (const name of ['google', 'github', 'aad2']) {
    const res = await request(`${app.url}/.auth/login/${name}`, { headers: { accept: 'application/json' } });
    t.equal(res.statusCode, 404, name);
    await res.body.dump();
  }
});
