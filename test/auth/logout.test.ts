// Sign-out: same-origin only, ends the session on every replica and the cached tokens, then the provider's logout.
import { decodeJwt } from 'jose';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { Browser, parseForms, signIn } from '../helpers/browser.js';
import { newKey } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { KeyedStore, rawRequest, sleep, startApp, type TestApp } from '../helpers/world.js';

/** GET as an API client with exactly this session cookie value. */
async function statusWith(url: string, value: string, path = '/x'): Promise<number> {
  const res = await request(`${url}${path}`, {
    headers: { accept: 'application/json', cookie: `authward=${value}` },
  });
  await res.body.dump();
  return res.statusCode;
}

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: sign-out`, async (t) => {
    const idp = await startIdp({ mode });
    t.teardown(() => idp.close());
    const upstream = await startUpstream();
    t.teardown(() => upstream.close());
    const store = new KeyedStore();
    const keys = [newKey()];
    const replica = () =>
      startApp({
        idp,
        upstreamUrl: upstream.url,
        store,
        overrides: { session: { keys, revocationCheckInterval: 1 } },
      });
    const aw = await replica();
    t.teardown(() => aw.close());
    const other = await replica();
    t.teardown(() => other.close());

    const signedIn = async (t: Test, login: string, app: TestApp = aw) => {
      const before = new Set(await store.live('acct:'));
      const b = new Browser({ ca: idp.caPem });
      t.teardown(() => b.close());
      const page = await signIn(b, `${app.url}/`, { login });
      t.equal(page.status, 200, `${login} signed in`);
      const partition = (await store.live('acct:')).filter((k) => !before.has(k));
      t.equal(partition.length, 1, 'one token cache partition was written');
      return { b, cookie: b.cookie(app.url, 'authward') as string, partition: partition[0] as string };
    };
    const me = async (b: Browser, app: TestApp = aw) => {
      const res = await b.fetch(`${app.url}/.auth/me`);
      await res.arrayBuffer();
      return res.status;
    };

    await t.test('same-origin POST: provider logout, session and tokens gone on every replica', async (t) => {
      const { b, cookie, partition } = await signedIn(t, 'alice');
      t.equal(await statusWith(other.url, cookie), 200, 'the other replica accepts the session');
      const sessBefore = (await store.live('sess:')).length;

      const res = await b.fetch(`${aw.url}/.auth/logout?post_logout_redirect_uri=/bye`, {
        method: 'POST',
        headers: { origin: aw.url },
      });
      await res.arrayBuffer();
      t.equal(res.status, 302);
      const location = new URL(res.headers.get('location') as string);
      t.equal(`${location.origin}${location.pathname}`, idp.discovery.end_session_endpoint);
      t.equal(
        location.searchParams.get('post_logout_redirect_uri'),
        `${aw.url}/.auth/logout/complete`,
        'the provider returns to authward (test/auth/logout-state.test.ts), then on to /bye',
      );
      t.equal(location.searchParams.get('client_id'), idp.clients.secret.clientId);
      const hint = decodeJwt(location.searchParams.get('id_token_hint') as string);
      t.equal(hint.sub, 'alice', 'id_token_hint is the ID token of this session');
      t.equal(hint.aud, idp.clients.secret.clientId);
      t.match(res.headers.get('cache-control'), /no-store/);

      t.notOk(b.cookie(aw.url, 'authward'), 'the session cookie is cleared');
      t.equal(await me(b), 401, '/.auth/me: signed out');
      t.equal(await statusWith(aw.url, cookie), 401, 'a copy of the cookie: dead on this replica at once');
      t.equal(await store.get(partition), null, `the token cache partition ${partition} is deleted`);
      t.equal((await store.live('sess:')).length, sessBefore - 1, 'the session record is deleted');
      await sleep(1100); // session.revocationCheckInterval: 1
      t.equal(await statusWith(other.url, cookie), 401, 'dead on the other replica within the interval');
      const otherMe = await request(`${other.url}/.auth/me`, { headers: { cookie: `authward=${cookie}` } });
      await otherMe.body.dump();
      t.equal(otherMe.statusCode, 401);

      // The provider accepts what we sent (hint, client, redirect) and comes back to /bye.
      const confirm = await b.navigate(location.href, { initiator: aw.url });
      t.equal(confirm.status, 200, 'the provider shows its logout page');
      const [form] = parseForms(confirm.body, confirm.url);
      t.ok(form, 'with a form');
      if (form) {
        const done = await b.submitForm(form, confirm.url, { logout: 'yes' });
        t.ok(
          done.hops.includes(`${aw.url}/bye`),
          'the provider sends the browser back to post_logout_redirect_uri',
        );
      }
    });

    await t.test('a hostile post_logout_redirect_uri becomes the app root', async (t) => {
      for (const target of ['//evil.com', '/.//evil.com', 'https://evil.com/', '/\\evil.com']) {
        const { b } = await signedIn(t, 'bob');
        const res = await b.fetch(
          `${aw.url}/.auth/logout?post_logout_redirect_uri=${encodeURIComponent(target)}`,
          { method: 'POST', headers: { origin: aw.url } },
        );
        await res.arrayBuffer();
        const sealed = aw.app
          .decodeSecureSession(decodeURIComponent(b.cookie(aw.url, 'authward-logout') ?? ''))
          ?.get('lo');
        t.equal(sealed?.to, '/', `${target}: the sign-out returns to the app root`);
      }
    });

    await t.test('cross-site GET shows a confirmation page and signs nobody out', async (t) => {
      const { b } = await signedIn(t, 'carol');
      const page = await b.navigate(`${aw.url}/.auth/logout`, { initiator: 'https://evil.example/page' });
      t.equal(page.status, 200);
      t.match(page.response.headers.get('content-type'), /text\/html/);
      const [form] = parseForms(page.body, page.url);
      t.equal(form?.method, 'POST', 'a POST form');
      t.equal(form?.action, `${aw.url}/.auth/logout`);
      t.equal(await me(b), 200, 'still signed in');

      // No Fetch Metadata, no Origin, no Referer (an old browser, a link in a mail client): confirm too.
      const bare = await b.fetch(`${aw.url}/.auth/logout`, { headers: { accept: 'text/html' } });
      t.equal(bare.status, 200);
      t.match(await bare.text(), /<form method="post"/);
      t.equal(await me(b), 200, 'still signed in');

      // The user confirms: a same-origin POST from the page signs out.
      if (form) {
        const done = await b.submitForm(form, page.url);
        t.ok(
          done.hops.some((h) => h.startsWith(idp.origin)),
          'on to the provider',
        );
      }
      t.equal(await me(b), 401, 'confirmed: signed out');
    });

    await t.test('the confirmation page reflects nothing unescaped', async (t) => {
      const res = await rawRequest(aw.url, `/.auth/logout?next="'><script>alert(1)</script>`, {
        headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', accept: 'text/html' },
      });
      t.equal(res.status, 200);
      t.notMatch(res.body, /<script/i);
      const action = /<form method="post" action="([^"]*)">/.exec(res.body)?.[1];
      t.equal(
        action,
        '/.auth/logout?next=&#34;&#39;&#62;&#60;script&#62;alert(1)&#60;/script&#62;',
        'quotes and brackets stay inside the action attribute, escaped',
      );
      t.match(res.headers['content-security-policy'], /default-src 'none'/);
    });

    await t.test('typed or same-origin GET signs out directly', async (t) => {
      const typed = await signedIn(t, 'dave');
      const res = await typed.b.fetch(`${aw.url}/.auth/logout`, {
        headers: { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' },
      });
      await res.arrayBuffer();
      t.equal(res.status, 302);
      t.equal(await me(typed.b), 401);
      const link = await signedIn(t, 'erin');
      const res2 = await link.b.fetch(`${aw.url}/.auth/logout`, {
        headers: { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate' },
      });
      await res2.arrayBuffer();
      t.equal(res2.status, 302);
      t.equal(await me(link.b), 401);
    });

    await t.test('cross-site POST is refused with 403 and signs nobody out', async (t) => {
      const { b, cookie, partition } = await signedIn(t, 'frank');
      const attempts: Record<string, string>[] = [
        { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
        { 'sec-fetch-site': 'same-site', origin: 'http://127.0.0.1:1' },
        { origin: 'https://evil.example' },
        { origin: 'null' },
        { referer: 'https://evil.example/page' },
        { referer: `${aw.url}.evil.example/` },
      ];
      for (const headers of attempts) {
        // Sent with the cookie, as a browser with a SameSite=None cookie would.
        const res = await b.fetch(`${aw.url}/.auth/logout`, { method: 'POST', headers });
        await res.arrayBuffer();
        t.equal(res.status, 403, `refused: ${JSON.stringify(headers)}`);
      }
      t.equal(await me(b), 200, 'still signed in');
      t.equal(await statusWith(aw.url, cookie), 200);
      t.not(await store.get(partition), null, 'tokens kept');
    });
  });
}
