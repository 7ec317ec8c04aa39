// Claims only at UserInfo (OpenID Core 5.4): fetched at sign-in when the ID token has none; a UserInfo sub that differs is refused.
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, startApp } from '../helpers/world.js';

type Headers = Record<string, string | undefined>;

const upstream = await startUpstream();
t.teardown(() => upstream.close());
const browsers: Browser[] = [];
t.teardown(() => Promise.all(browsers.map((b) => b.close())));

async function setup(claimsInIdToken: boolean) {
  const idp = await startIdp({ claimsInIdToken });
  t.teardown(() => idp.close());
  idp.setUser('alice', { email: 'alice@example.com', preferred_username: 'alice@test.invalid' });
  idp.setUser('mallory', { email: 'alice@example.com', email_verified: false });
  const { logger, lines } = captureLogger('info');
  const aw = await startApp({ idp, upstreamUrl: upstream.url, logger });
  t.teardown(() => aw.close());
  const signInAs = async (login: string) => {
    const b = new Browser({ ca: idp.caPem });
    browsers.push(b);
    const { status } = await signIn(b, `${aw.url}/`, { login });
    const echo = await b.fetch(`${aw.url}/x`, { headers: { accept: 'application/json' } });
    const headers = echo.status === 200 ? ((await echo.json()) as { headers: Headers }).headers : {};
    return { status, headers, b };
  };
  return { idp, aw, lines, signInAs };
}

t.test('a provider that keeps profile claims out of the ID token', async (t) => {
  const { idp, aw, lines, signInAs } = await setup(false);
  let idTokenClaims: string[] = [];
  idp.tamperNextIdToken(({ payload }) => {
    idTokenClaims = Object.keys(payload);
    return { payload, signWith: 'idp-key' };
  });
  idp.resetCounters();
  const alice = await signInAs('alice');
  t.equal(alice.status, 200, 'signed in');
  t.notOk(
    idTokenClaims.some((c) => ['name', 'preferred_username', 'email'].includes(c)),
    'premise: the ID token has no name, username or email',
  );
  t.equal(idp.counters.userinfo, 1, 'UserInfo called once, at sign-in');
  t.equal(alice.headers['x-ms-client-principal-name'], 'alice@test.invalid', 'username from UserInfo');
  t.equal(alice.headers['x-forwarded-email'], 'alice@example.com', 'verified email from UserInfo');
  const me = (await (await alice.b.fetch(`${aw.url}/.auth/me`)).json()) as {
    user_id: string;
    user_claims: { typ: string; val: string }[];
  }[];
  t.equal(me[0]?.user_id, 'alice@test.invalid');
  t.ok(
    me[0]?.user_claims.some((c) => c.typ === 'name' && c.val === 'Test user alice'),
    'name from UserInfo',
  );
  t.equal(idp.counters.userinfo, 1, 'requests after sign-in do not call UserInfo');

  await t.test('an unverified email from UserInfo is dropped like one from the ID token', async (t) => {
    const mallory = await signInAs('mallory');
    t.equal(mallory.status, 200);
    t.notOk('x-forwarded-email' in mallory.headers);
  });

  await t.test('a UserInfo answer for another subject: sign-in refused, no session', async (t) => {
    idp.rewriteNextUserInfo((body) => {
      body.sub = 'alice-impostor';
    });
    const r = await signInAs('alice');
    t.equal(r.status, 400, 'refused');
    t.equal((await r.b.fetch(`${aw.url}/.auth/me`)).status, 401, 'no session');
    const failed = lines.filter((l) => l.event === 'sign_in_failed').map((l) => String(l.reason));
    t.match(failed.at(-1), /userinfo sub/i, 'the log says why');
  });
});

t.test('a provider that puts the claims in the ID token: UserInfo is never called', async (t) => {
  const { idp, signInAs } = await setup(true);
  idp.resetCounters();
  const alice = await signInAs('alice');
  t.equal(alice.status, 200);
  t.equal(alice.headers['x-ms-client-principal-name'], 'alice@test.invalid');
  t.equal(idp.counters.userinfo, 0, 'no UserInfo round trip');
});
