// The demo's App Service sample page (demo/lib/easy-auth-page.ts) behind authward, as written for App Service:
// its /.auth/login/aad link signs in and comes back, its server reads X-MS-CLIENT-PRINCIPAL, and the
// /.auth/me call its script makes answers in App Service's shape.
import t from 'tap';
import { startBackend } from '../../demo/lib/backend.js';
import { EASY_AUTH_JS, EASY_AUTH_PATH } from '../../demo/lib/easy-auth-page.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startApp } from '../helpers/world.js';

const idp = await startIdp({ mode: 'aad' });
t.teardown(() => idp.close());
const port = await freePort();
const backend = await startBackend({ host: '127.0.0.1', port });
t.teardown(() => backend.close());
const app = await startApp({ idp, upstreamUrl: `http://127.0.0.1:${port}` });
t.teardown(() => app.close());

t.test('the sample page works unchanged behind authward', async (t) => {
  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  const first = await signIn(b, `${app.url}${EASY_AUTH_PATH}`, { login: 'wes' });
  t.equal(first.url, `${app.url}${EASY_AUTH_PATH}`, 'a protected page: signed in and back');
  const link = /<a id="sign-in" href="([^"]+)"/.exec(first.body)?.[1]?.replaceAll('&#38;', '&') ?? '';
  t.match(link, /^\/\.auth\/login\/aad\?post_login_redirect_uri=/, 'its sign-in link is App Service’s');

  const again = await signIn(b, new URL(link, app.url).href, { login: 'wes' });
  t.equal(again.url, `${app.url}${EASY_AUTH_PATH}`, '/.auth/login/aad returns to post_login_redirect_uri');
  t.match(again.body, /<span id="principal-name">wes@test\.invalid<\/span>/, 'X-MS-CLIENT-PRINCIPAL read');
  t.match(again.body, /<code id="principal-idp">aad<\/code>/);

  t.match(EASY_AUTH_JS, /fetch\('\/\.auth\/me'/, 'the page script asks /.auth/me');
  const me = await b.fetch(`${app.url}/.auth/me`, { headers: { accept: 'application/json' } });
  const [body] = (await me.json()) as { user_id: string; provider_name: string; user_claims: unknown[] }[];
  t.equal(body?.user_id, 'wes@test.invalid', 'user_id');
  t.equal(body?.provider_name, 'aad', 'provider_name');
  t.ok((body?.user_claims.length ?? 0) > 3, 'user_claims');
});
