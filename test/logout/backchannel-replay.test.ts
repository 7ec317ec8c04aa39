// A logout token is accepted once: sent again, to the same replica or to another sharing the store, it is
// refused (its jti is remembered in Redis with a TTL), and a replay signs nobody out.
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { logoutWorld, postLogoutToken } from './fixture.js';

const { idp, logout, start } = await logoutWorld(t, { redis: 'replay:' });
const a = await start({ identity: { backchannelLogout: true } });
const b = await start({ identity: { backchannelLogout: true } });
const post = async (url: string, token: string) => (await postLogoutToken(url, token)).status;

t.test('a replayed logout token is refused on every replica', async (t) => {
  const token = await logout.logoutToken(idp, { sub: 'nobody-signed-in' });
  t.equal(await post(a.url, token), 200, 'accepted once (naming no session is still a valid logout)');
  t.equal(await post(a.url, token), 400, 'refused again on the same replica');
  t.equal(await post(b.url, token), 400, 'and on the other replica');
});

t.test('a replay signs nobody out: the sessions signed in after the first delivery stay', async (t) => {
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  const token = await logout.logoutToken(idp, { sub: 'sage' });
  t.equal(await post(b.url, token), 200);
  await signIn(browser, `${a.url}/`, { login: 'sage' });
  t.equal(await post(a.url, token), 400, 'the replay is refused');
  const me = await browser.fetch(`${a.url}/.auth/me`);
  await me.arrayBuffer();
  t.equal(me.status, 200, 'sage is still signed in');
});
