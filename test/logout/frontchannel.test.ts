// Front-channel logout: a GET with the provider's iss and sid (from an iframe on the provider's page, so
// without the SameSite=Lax cookie) ends that provider session's sign-in; a wrong iss or sid changes
// nothing; the page may be framed by the provider's origin only; the provider not announcing the
// feature is a start-up warning.
import { decodeJwt } from 'jose';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { Browser, signIn } from '../helpers/browser.js';
import { captureLogger } from '../helpers/world.js';
import { logoutWorld } from './fixture.js';

const { idp, logout, start } = await logoutWorld(t);
const { logger, lines } = captureLogger();
const app = await start(
  { identity: { frontchannelLogout: true }, session: { exposeTokensToBrowser: true } },
  { logger },
);
// (the back-channel URI is set only so the provider puts `sid` in ID tokens)
await logout.setBackchannelUri(idp, `${app.url}/.auth/backchannel-logout`);

async function signedIn(t: Test, login: string) {
  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  await signIn(b, `${app.url}/`, { login });
  const res = await b.fetch(`${app.url}/.auth/me`);
  const body = (await res.json()) as { id_token: string }[];
  const sid = decodeJwt(body[0]?.id_token as string).sid as string;
  t.ok(sid, `${login} signed in, provider sid known`);
  return { b, sid };
}
const me = async (b: Browser) => {
  const res = await b.fetch(`${app.url}/.auth/me`);
  await res.arrayBuffer();
  return res.status;
};
/** The provider's iframe: a cross-site subresource request from the provider's page (no Lax cookie). */
const frame = async (b: Browser, query: Record<string, string>) => {
  const url = `${app.url}/.auth/frontchannel-logout?${new URLSearchParams(query)}`;
  const res = await b.fetch(url, {
    initiator: `${idp.origin}/session/end/confirm`,
    headers: { 'sec-fetch-dest': 'iframe' },
  });
  await res.arrayBuffer();
  return res;
};

t.test('the provider not announcing front-channel logout is a start-up warning', async (t) => {
  t.ok(
    lines.some((l) => /frontchannel_logout_supported/.test(String(l.msg))),
    'warned: oidc-provider 9 has no front-channel logout',
  );
});

t.test('a wrong iss or sid changes nothing', async (t) => {
  const { b, sid } = await signedIn(t, 'lee');
  const queries: Record<string, string>[] = [
    { iss: 'https://evil.example', sid },
    { iss: `${idp.issuer}/`, sid },
    { iss: idp.issuer, sid: `${sid}x` },
    { iss: idp.issuer },
    { sid },
  ];
  for (const query of queries) {
    const res = await frame(b, query);
    t.equal(res.status, 200, `${JSON.stringify(query)}: the same page`);
    t.equal(await me(b), 200, `${JSON.stringify(query)}: still signed in`);
  }
});

t.test('iss and sid of the session: it ends; the page is framable by the provider only', async (t) => {
  const { b, sid } = await signedIn(t, 'max');
  const other = await signedIn(t, 'max');
  const res = await frame(b, { iss: idp.issuer, sid });
  t.equal(res.status, 200);
  t.equal(res.headers.get('x-frame-options'), null, 'no X-Frame-Options on this page');
  t.match(res.headers.get('content-security-policy'), new RegExp(`frame-ancestors ${idp.origin}(;|$)`));
  t.match(res.headers.get('cache-control'), /no-store/);
  t.equal(await me(b), 401, 'signed out');
  t.equal(await me(other.b), 200, "the user's other provider session is not");
});

t.test('with the cookie (a same-site provider): the cookie is cleared too', async (t) => {
  const { b, sid } = await signedIn(t, 'noa');
  const res = await request(
    `${app.url}/.auth/frontchannel-logout?${new URLSearchParams({ iss: idp.issuer, sid })}`,
    {
      headers: { cookie: `authward=${b.cookie(app.url, 'authward')}` },
    },
  );
  await res.body.dump();
  t.match(String(res.headers['set-cookie']), /authward=;/, 'the session cookie is deleted');
  t.equal(await me(b), 401);
});

t.test('other own pages keep refusing to be framed', async (t) => {
  const res = await request(`${app.url}/.auth/me`);
  await res.body.dump();
  t.equal(res.headers['x-frame-options'], 'DENY');
});
