// A full headless sign-in, in oidc and Entra-shaped aad mode: deep link kept, identity headers arrive.
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startWorld } from '../helpers/world.js';

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: sign in, land on the deep link, identity headers upstream`, async (t) => {
    const aw = await startWorld(t, { idp: { mode } });
    const { idp } = aw;
    idp.setUser('alice', { email: 'alice@example.com', groups: ['g1', 'g2'], roles: ['App.User'] });

    const browser = new Browser({ ca: idp.caPem });
    const page = await signIn(browser, `${aw.url}/deep/link?x=1&y=two`, { login: 'alice' });
    t.equal(page.status, 200);
    t.equal(page.url, `${aw.url}/deep/link?x=1&y=two`, 'back on the deep link with its query');
    const echo = JSON.parse(page.body);
    t.equal(echo.path, '/deep/link');
    const h = echo.headers as Record<string, string>;
    const expectedId = mode === 'aad' ? idp.oidFor('alice') : 'alice';
    t.equal(h['x-ms-client-principal-id'], expectedId, 'principal id is the immutable id');
    t.equal(h['x-forwarded-user'], expectedId);
    t.equal(h['x-forwarded-email'], 'alice@example.com');
    t.equal(h['x-forwarded-groups'], 'g1,g2');
    t.equal(h['x-ms-client-principal-idp'], mode === 'aad' ? 'aad' : new URL(idp.issuer).host);
    const principal = JSON.parse(
      Buffer.from(h['x-ms-client-principal'] as string, 'base64').toString('utf8'),
    );
    t.ok(
      principal.claims.some((c: { typ: string; val: string }) => c.typ === 'roles' && c.val === 'App.User'),
    );
    t.notOk(h.cookie?.includes('authward'), 'authward cookies are not forwarded');

    const me = await browser.fetch(`${aw.url}/.auth/me`);
    t.equal(me.status, 200);
    const [entry] = (await me.json()) as {
      provider_name: string;
      user_claims: { typ: string; val: string }[];
    }[];
    t.ok(entry?.user_claims.some((c) => c.typ === 'email' && c.val === 'alice@example.com'));
    t.notOk(JSON.stringify(entry).includes('eyJ'), '/.auth/me returns no token');
  });
}
