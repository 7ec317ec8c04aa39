// Back-channel logout tokens that must be refused (400 JSON, session untouched): forged, expired, for
// another audience, carrying a nonce, without the logout event, and the other checks of the spec. The
// last subtest sends the same token unspoiled and sees it accepted: the refusals are the flaws'.
import { decodeJwt } from 'jose';
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { LOGOUT_EVENT } from '../helpers/idp-logout.js';
import { logoutWorld, postLogoutToken } from './fixture.js';

const { idp, logout, start } = await logoutWorld(t);
const app = await start({
  identity: { backchannelLogout: true },
  session: { exposeTokensToBrowser: true },
});
await logout.setBackchannelUri(idp, `${app.url}/.auth/backchannel-logout`);

const browser = new Browser({ ca: idp.caPem });
t.teardown(() => browser.close());
await signIn(browser, `${app.url}/`, { login: 'quinn' });
const me = async () => {
  const res = await browser.fetch(`${app.url}/.auth/me`);
  return {
    status: res.status,
    body: res.status === 200 ? ((await res.json()) as { id_token: string }[]) : [],
  };
};
const first = await me();
t.equal(first.status, 200, 'signed in');
const sid = decodeJwt(first.body[0]?.id_token as string).sid as string;
t.ok(sid, 'the ID token carries the provider session id');

const now = () => Math.floor(Date.now() / 1000);
const flawed: [string, () => Promise<string>][] = [
  ['signed by another key (forged)', () => logout.logoutToken(idp, { sid, sub: 'quinn' }, { key: 'other' })],
  ['expired', () => logout.logoutToken(idp, { sid, iat: now() - 600, exp: now() - 300 })],
  [
    'issued outside identity.clockSkew',
    () => logout.logoutToken(idp, { sid, iat: now() - 3600, exp: undefined }),
  ],
  ['for another audience', () => logout.logoutToken(idp, { sid, aud: 'someone-else' })],
  ['from another issuer', () => logout.logoutToken(idp, { sid, iss: 'https://evil.example' })],
  ['carrying a nonce (an ID token)', () => logout.logoutToken(idp, { sid, nonce: 'n-1' })],
  ['without an events claim', () => logout.logoutToken(idp, { sid, events: undefined })],
  ['with another event', () => logout.logoutToken(idp, { sid, events: { 'urn:other': {} } })],
  ['with the event not an object', () => logout.logoutToken(idp, { sid, events: { [LOGOUT_EVENT]: 'yes' } })],
  ['without sid and sub', () => logout.logoutToken(idp, {})],
  ['without jti', () => logout.logoutToken(idp, { sid, jti: undefined })],
  ['with typ of another kind of JWT', () => logout.logoutToken(idp, { sid }, { typ: 'at+jwt' })],
];

for (const [name, make] of flawed) {
  t.test(`a logout token ${name} is refused`, async (t) => {
    const res = await postLogoutToken(app.url, await make());
    t.equal(res.status, 400);
    t.match(res.headers['content-type'], /application\/json/);
    t.match(JSON.parse(res.text), { error: 'bad_request', requestId: String });
    t.equal((await me()).status, 200, 'the session lives on');
  });
}

t.test('no logout_token, or not a JWT, is refused', async (t) => {
  t.equal((await postLogoutToken(app.url, '')).status, 400);
  t.equal((await postLogoutToken(app.url, 'abc')).status, 400);
  t.equal((await me()).status, 200, 'the session lives on');
});

t.test('the same token unspoiled is accepted and ends the session', async (t) => {
  const res = await postLogoutToken(app.url, await logout.logoutToken(idp, { sid }));
  t.equal(res.status, 200);
  t.match(res.headers['cache-control'], /no-store/);
  t.equal((await me()).status, 401, 'signed out');
});
