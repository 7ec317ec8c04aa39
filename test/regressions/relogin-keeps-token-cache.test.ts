// Regression: signing in again as the same account (a second login, consent, a claims challenge) deleted the
// token cache partition the new login had just written, so the next token request signed the user out.
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { KeyedStore, startApp } from '../helpers/world.js';

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: a second sign-in of the same account keeps its tokens`, async (t) => {
    const idp = await startIdp({ mode });
    t.teardown(() => idp.close());
    const upstream = await startUpstream();
    t.teardown(() => upstream.close());
    const store = new KeyedStore();
    const aw = await startApp({
      idp,
      upstreamUrl: upstream.url,
      store,
      overrides: { upstream: { tokens: ['api://orders/read'] } },
    });
    t.teardown(() => aw.close());
    const b = new Browser({ ca: idp.caPem });
    t.teardown(() => b.close());
    const callback = `${aw.url}/.auth/login/aad/callback`;

    const first = await signIn(b, `${aw.url}/one`, { login: 'alice' });
    t.equal(first.status, 200);
    t.ok(JSON.parse(first.body).headers['x-ms-token-aad-access-token'], 'a token after the first sign-in');
    const partitions = await store.live('acct:');
    t.equal(partitions.length, 1);

    const again = await signIn(b, `${aw.url}/.auth/login?post_login_redirect_uri=/two`, { login: 'alice' });
    t.equal(again.status, 200, 'signed in again, landed on /two');
    // (Before the fix, /two found no tokens, ended the session and sent the browser round again.)
    t.equal(again.hops.filter((h) => h.startsWith(callback)).length, 1, 'one trip through the callback');
    t.same(await store.live('acct:'), partitions, 'the partition is still there');
    const next = await b.navigate(`${aw.url}/three`);
    t.same(next.hops, [`${aw.url}/three`], 'no detour through the provider');
    t.equal(next.status, 200);
    t.ok(
      JSON.parse(next.body).headers['x-ms-token-aad-access-token'],
      'the token still comes from the cache',
    );

    // A different account signing in on this browser does remove the previous account's tokens.
    await idp.revokeSessions('alice'); // the provider asks who is signing in again
    await signIn(b, `${aw.url}/.auth/login`, { login: 'bob' });
    const after = await store.live('acct:');
    t.equal(after.length, 1, "only bob's partition is left");
    t.not(after[0], partitions[0]);
  });
}
