// Sign-out through a provider that honours post_logout_redirect_uri only with `state` (issue 12, item 4):
// the end-session request carries a random state, the provider comes back to /.auth/logout/complete,
// and the user lands on the target sealed at sign-out. A state that does not match is not trusted.
import t, { type Test } from 'tap';
import { Browser, parseForms, signIn } from '../helpers/browser.js';
import { startWorld } from '../helpers/world.js';

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: sign-out with a provider that needs state`, async (t) => {
    const aw = await startWorld(t, { idp: { mode, postLogoutNeedsState: true } });
    const { idp } = aw;
    const complete = `${aw.url}/.auth/logout/complete`;

    /** Signs in, then signs out with target /bye: the provider URL authward sent the browser to. */
    const signedOut = async (t: Test, login: string, target = '/bye') => {
      const b = new Browser({ ca: idp.caPem });
      t.teardown(() => b.close());
      t.equal((await signIn(b, `${aw.url}/`, { login })).status, 200, `${login} signed in`);
      const res = await b.fetch(
        `${aw.url}/.auth/logout?post_logout_redirect_uri=${encodeURIComponent(target)}`,
        {
          method: 'POST',
          headers: { origin: aw.url },
        },
      );
      await res.arrayBuffer();
      t.equal(res.status, 302, 'sign-out redirects');
      return { b, end: new URL(res.headers.get('location') as string) };
    };
    const signedOutPage = (t: Test, page: { status: number; hops: string[]; body: string }, what: string) => {
      t.equal(page.status, 200, `${what}: a page`);
      t.match(page.body, /signed out/i, `${what}: authward's signed-out page`);
      t.notOk(page.hops.includes(`${aw.url}/bye`), `${what}: not sent on to the target`);
    };

    await t.test('the end-session request carries a fresh random state', async (t) => {
      const one = await signedOut(t, 'alice');
      const two = await signedOut(t, 'alice');
      t.equal(`${one.end.origin}${one.end.pathname}`, idp.discovery.end_session_endpoint);
      t.equal(one.end.searchParams.get('post_logout_redirect_uri'), complete, 'back to authward first');
      const state = one.end.searchParams.get('state');
      t.match(state, /^[A-Za-z0-9_-]{32,}$/, 'a state of 32+ random characters');
      t.not(state, two.end.searchParams.get('state'), 'another one per sign-out');
    });

    await t.test('the provider sends the user back, and authward on to the target', async (t) => {
      const { b, end } = await signedOut(t, 'bob');
      const confirm = await b.navigate(end.href, { initiator: aw.url });
      t.equal(confirm.status, 200, "the provider's sign-out page");
      const [form] = parseForms(confirm.body, confirm.url);
      t.ok(form, 'with a form');
      if (!form) return;
      const done = await b.submitForm(form, confirm.url, { logout: 'yes' });
      const back = done.hops.findIndex((h) => h.startsWith(`${complete}?`));
      t.ok(back >= 0, 'the provider returned to /.auth/logout/complete');
      t.equal(
        new URL(done.hops[back] ?? complete).searchParams.get('state'),
        end.searchParams.get('state'),
        'with our state',
      );
      t.equal(done.hops[back + 1], `${aw.url}/bye`, 'then on to the target');
      const me = await b.fetch(`${aw.url}/.auth/me`);
      t.equal(me.status, 401, 'signed out');
    });

    await t.test('a state that does not match is not trusted', async (t) => {
      const { b, end } = await signedOut(t, 'carol');
      const forged = await b.navigate(`${complete}?state=${'A'.repeat(43)}`, { initiator: idp.origin });
      signedOutPage(t, forged, 'a forged state');
      // The pending sign-out was consumed: the real state arriving later is no longer trusted either.
      const real = await b.navigate(`${complete}?state=${end.searchParams.get('state')}`, {
        initiator: idp.origin,
      });
      signedOutPage(t, real, 'after a forged one');
    });

    await t.test('no state echoed: the sealed target; no pending sign-out: the page', async (t) => {
      const { b } = await signedOut(t, 'dave');
      const silent = await b.navigate(complete, { initiator: idp.origin });
      t.ok(silent.hops.includes(`${aw.url}/bye`), 'a provider that does not echo state: to the target');
      const again = await b.navigate(complete, { initiator: idp.origin });
      signedOutPage(t, again, 'used once');
      const stranger = new Browser();
      t.teardown(() => stranger.close());
      signedOutPage(t, await stranger.navigate(complete), 'another browser');
      const repeated = await stranger.navigate(`${complete}?state=a&state=b`);
      signedOutPage(t, repeated, 'state given twice');
    });

    await t.test('a long target keeps its path: the pending sign-out stays small', async (t) => {
      const { b } = await signedOut(t, 'erin', `/bye/long?q=${'x'.repeat(3000)}`);
      const cookie = b.cookies(aw.url).find((c) => c.name === 'authward-logout');
      const size = (cookie?.name.length ?? 0) + 1 + (cookie?.value.length ?? 0);
      t.ok(cookie && size <= 1000, `the sign-out cookie is ${size} bytes (at most 1000)`);
      const back = await b.navigate(complete, { initiator: idp.origin });
      t.ok(back.hops.includes(`${aw.url}/bye/long`), 'back on the path');
    });
  });
}
