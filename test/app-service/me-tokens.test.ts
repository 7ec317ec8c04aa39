// /.auth/me in App Service's shape; id_token, access_token and expires_on in it only with
// session.exposeTokensToBrowser (default off), and never a refresh token.
import { decodeJwt } from 'jose';
import t, { type Test } from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp } from '../helpers/world.js';

const idp = await startIdp();
t.teardown(() => idp.close());
const upstream = await startUpstream();
t.teardown(() => upstream.close());

type Me = Record<string, unknown> & { user_claims: { typ: string; val: string }[] };

async function meOf(t: Test, overrides: Record<string, unknown>): Promise<Me> {
  const app = await startApp({ idp, upstreamUrl: upstream.url, overrides });
  t.teardown(() => app.close());
  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  await signIn(b, `${app.url}/`, { login: 'uma' });
  const res = await b.fetch(`${app.url}/.auth/me`);
  t.equal(res.status, 200);
  t.match(res.headers.get('cache-control'), /no-store/);
  const body = (await res.json()) as Me[];
  t.equal(body.length, 1, 'an array of one identity, as App Service answers');
  return body[0] as Me;
}

t.test('default: claims, no tokens', async (t) => {
  const me = await meOf(t, { upstream: { tokens: ['api://orders/read'] } });
  t.equal(me.provider_name, new URL(idp.issuer).host);
  t.equal(me.user_id, 'uma@test.invalid');
  t.ok(me.user_claims.some((c) => c.typ === 'sub' && c.val === 'uma'));
  for (const k of ['id_token', 'access_token', 'expires_on', 'refresh_token']) t.notOk(k in me, `no ${k}`);
});

t.test(
  'exposeTokensToBrowser: id_token, access_token of upstream.tokens and expires_on; never refresh_token',
  async (t) => {
    const me = await meOf(t, {
      session: { exposeTokensToBrowser: true },
      upstream: { tokens: ['api://orders/read'] },
    });
    const id = decodeJwt(me.id_token as string);
    t.equal(id.sub, 'uma', 'the ID token of this user');
    const access = decodeJwt(me.access_token as string);
    t.equal(access.aud, 'api://orders', 'the access token of upstream.tokens');
    // (MSAL's expiry is its receipt time + expires_in: the token's exp give or take the second it ticked)
    const expiresOn = Date.parse(me.expires_on as string);
    t.ok(Math.abs(expiresOn - (access.exp as number) * 1000) <= 5000, 'expires_on is its expiry (ISO 8601)');
    t.notOk('refresh_token' in me, 'no refresh token, ever');
  },
);

t.test('exposeTokensToBrowser without upstream.tokens: the ID token only', async (t) => {
  const me = await meOf(t, { session: { exposeTokensToBrowser: true } });
  t.ok(me.id_token);
  t.notOk('access_token' in me);
  t.notOk('expires_on' in me);
});
