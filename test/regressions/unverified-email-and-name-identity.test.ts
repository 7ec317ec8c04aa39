// Issue 11 item 2: an unverified email or a free-text name never becomes an identity (headers, rules).
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp } from '../helpers/world.js';

type Headers = Record<string, string | undefined>;
const principalClaims = (h: Headers) =>
  (
    JSON.parse(Buffer.from(h['x-ms-client-principal'] as string, 'base64').toString('utf8')) as {
      claims: { typ: string; val: string }[];
    }
  ).claims;

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: identity comes from verified claims only`, async (t) => {
    const idp = await startIdp({ mode });
    t.teardown(() => idp.close());
    const upstream = await startUpstream();
    t.teardown(() => upstream.close());
    // The real alice, and two who try to pass for her.
    idp.setUser('alice', { email: 'alice@example.com', preferred_username: 'alice@test.invalid' });
    idp.setUser('mallory', {
      email: 'alice@example.com',
      email_verified: false,
      preferred_username: 'mallory@test.invalid',
    });
    idp.setUser('nameonly', {
      name: 'alice@test.invalid',
      preferred_username: undefined,
      email: undefined,
      email_verified: undefined,
    });
    const aliceId = mode === 'aad' ? idp.oidFor('alice') : 'alice';
    const nameonlyId = mode === 'aad' ? idp.oidFor('nameonly') : 'nameonly';
    const aw = await startApp({
      idp,
      upstreamUrl: upstream.url,
      overrides: {
        authorization: {
          paths: [
            { prefix: '/by-email', allowedUsers: ['ALICE@example.com'] },
            { prefix: '/by-name', allowedUsers: ['alice@test.invalid'] },
            { prefix: '/by-id', allowedUsers: [nameonlyId] },
          ],
        },
      },
    });
    t.teardown(() => aw.close());

    const browsers: Browser[] = [];
    t.teardown(() => Promise.all(browsers.map((b) => b.close())));
    const as = async (login: string) => {
      const b = new Browser({ ca: idp.caPem });
      browsers.push(b);
      t.equal((await signIn(b, `${aw.url}/`, { login })).status, 200, `${login} signed in`);
      return b;
    };
    const get = async (b: Browser, path: string) => {
      const res = await b.fetch(`${aw.url}${path}`, { headers: { accept: 'application/json' } });
      const body = await res.text();
      return {
        status: res.status,
        headers: res.status === 200 ? (JSON.parse(body) as { headers: Headers }).headers : {},
      };
    };

    await t.test('control: the real alice passes her rules and her email is forwarded', async (t) => {
      const alice = await as('alice');
      t.equal((await get(alice, '/by-email/x')).status, 200, 'verified email matches allowedUsers');
      t.equal((await get(alice, '/by-name/x')).status, 200, 'preferred_username matches allowedUsers');
      const h = (await get(alice, '/x')).headers;
      t.equal(h['x-forwarded-email'], 'alice@example.com');
      t.equal(h['x-ms-client-principal-name'], 'alice@test.invalid');
      t.equal(h['x-forwarded-user'], aliceId);
    });

    await t.test('an unverified email matches no rule and reaches no header', async (t) => {
      const mallory = await as('mallory');
      t.equal((await get(mallory, '/by-email/x')).status, 403, "alice's email, unverified: denied");
      const h = (await get(mallory, '/x')).headers;
      t.notOk('x-forwarded-email' in h, 'no X-Forwarded-Email');
      t.equal(h['x-ms-client-principal-name'], 'mallory@test.invalid');
      t.notOk(
        principalClaims(h).some((c) => c.val === 'alice@example.com'),
        'the unverified email is not in the principal',
      );
      const me = (await (await mallory.fetch(`${aw.url}/.auth/me`)).json()) as {
        user_id: string;
        user_claims: { typ: string; val: string }[];
      }[];
      t.notOk(JSON.stringify(me).includes('alice@example.com'), '/.auth/me does not show it either');
    });

    if (mode === 'aad') {
      await t.test("Entra's xms_edov: false (email domain not verified) counts as unverified", async (t) => {
        idp.setUser('edov', { email: 'alice@example.com', email_verified: undefined, xms_edov: false });
        const edov = await as('edov');
        t.equal((await get(edov, '/by-email/x')).status, 403);
        t.notOk('x-forwarded-email' in (await get(edov, '/x')).headers);
      });
    }

    await t.test('a name is never an identifier: the principal name falls back to the id', async (t) => {
      const nameonly = await as('nameonly');
      const h = (await get(nameonly, '/x')).headers;
      t.equal(h['x-ms-client-principal-name'], nameonlyId, 'the stable id, not the free-text name');
      t.equal(h['x-forwarded-user'], nameonlyId);
      t.notOk('x-forwarded-preferred-username' in h);
      t.equal((await get(nameonly, '/by-name/x')).status, 403, "a name equal to alice's username: denied");
      t.equal((await get(nameonly, '/by-id/x')).status, 200, 'allowedUsers matches the stable id');
      const me = (await (await nameonly.fetch(`${aw.url}/.auth/me`)).json()) as { user_id: string }[];
      t.equal(me[0]?.user_id, nameonlyId, '/.auth/me user_id is the id');
    });
  });
}
