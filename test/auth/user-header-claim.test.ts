// upstream.identityHeaders.userClaim: the operator picks the claim sent as X-Forwarded-User (email only when verified).
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { testConfig } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp } from '../helpers/world.js';

type Headers = Record<string, string | undefined>;

t.test('config: the choices, and the default', async (t) => {
  t.equal(testConfig().upstream.identityHeaders.userClaim, 'id', 'default: the stable id');
  t.throws(
    () => testConfig({ upstream: { identityHeaders: { userClaim: 'name' } } }),
    /upstream\.identityHeaders\.userClaim: must be one of "id", "preferred_username", "email"/,
    'name is not an identifier: refused',
  );
});

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: X-Forwarded-User carries the chosen claim`, async (t) => {
    const idp = await startIdp({ mode });
    t.teardown(() => idp.close());
    const upstream = await startUpstream();
    t.teardown(() => upstream.close());
    idp.setUser('alice', { email: 'alice@example.com', preferred_username: 'alice@test.invalid' });
    idp.setUser('unverified', { email: 'u@example.com', email_verified: false });
    idp.setUser('bare', { preferred_username: undefined, email: undefined, email_verified: undefined });
    const browsers: Browser[] = [];
    t.teardown(() => Promise.all(browsers.map((b) => b.close())));

    const userHeader = async (userClaim: string | undefined, login: string) => {
      const aw = await startApp({
        idp,
        upstreamUrl: upstream.url,
        overrides: userClaim ? { upstream: { identityHeaders: { userClaim } } } : {},
      });
      t.teardown(() => aw.close());
      const b = new Browser({ ca: idp.caPem });
      browsers.push(b);
      t.equal((await signIn(b, `${aw.url}/`, { login })).status, 200, `${login} signed in`);
      const res = await b.fetch(`${aw.url}/x`, { headers: { accept: 'application/json' } });
      const h = ((await res.json()) as { headers: Headers }).headers;
      t.equal(
        h['x-ms-client-principal-id'],
        mode === 'aad' ? idp.oidFor(login) : login,
        'the principal id stays the stable id',
      );
      return h['x-forwarded-user'];
    };
    const id = (login: string) => (mode === 'aad' ? idp.oidFor(login) : login);

    t.equal(await userHeader(undefined, 'alice'), id('alice'), 'default: oid on Entra, sub elsewhere');
    t.equal(await userHeader('id', 'alice'), id('alice'), 'id');
    t.equal(await userHeader('preferred_username', 'alice'), 'alice@test.invalid', 'preferred_username');
    t.equal(await userHeader('email', 'alice'), 'alice@example.com', 'a verified email');
    t.equal(await userHeader('email', 'unverified'), undefined, 'an unverified email: no header');
    t.equal(await userHeader('preferred_username', 'bare'), undefined, 'no username: no header');
  });
}
