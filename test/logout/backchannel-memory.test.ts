// Back-channel logout with the memory store: a logout token with `sid` ends that provider session's
// sign-in only (the user's other browser keeps its session); one with `sub` alone ends every session of
// that user and no one else's; the account's token cache partition is deleted either way.
import { decodeJwt } from 'jose';
import t, { type Test } from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { KeyedStore } from '../helpers/world.js';
import { logoutWorld, postLogoutToken } from './fixture.js';

const { idp, logout, start } = await logoutWorld(t);
const store = new KeyedStore();
const app = await start({ identity: { backchannelLogout: true } }, { store });
await logout.setBackchannelUri(idp, `${app.url}/.auth/backchannel-logout`);

async function signedIn(t: Test, login: string): Promise<Browser> {
  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  const page = await signIn(b, `${app.url}/`, { login });
  t.equal(page.status, 200, `${login} signed in`);
  return b;
}
const me = async (b: Browser) => {
  const res = await b.fetch(`${app.url}/.auth/me`);
  await res.arrayBuffer();
  return res.status;
};

t.test(
  'sid: the provider session signed out ends here; the same user in another browser stays',
  async (t) => {
    const one = await signedIn(t, 'ivy');
    const two = await signedIn(t, 'ivy');
    t.equal((await store.live('acct:')).length, 1, "one partition: ivy's account");
    await logout.signOutAtProvider(idp, one);
    const delivered = logout.deliveries.at(-1);
    t.ok(delivered?.ok, `the provider delivered the logout token ${JSON.stringify(delivered)}`);
    t.equal(await me(one), 401, 'the browser signed out at the provider is signed out here, at once');
    t.equal(await me(two), 200, 'the other browser (another provider session) is not');
    t.same(await store.live('acct:'), [], "the account's token cache partition is deleted");
  },
);

t.test('sub alone: every session of that user ends, nobody else', async (t) => {
  const one = await signedIn(t, 'jo');
  const two = await signedIn(t, 'jo');
  const other = await signedIn(t, 'kim');
  const token = await logout.logoutToken(idp, { sub: 'jo' });
  t.equal((await postLogoutToken(app.url, token)).status, 200);
  t.equal(await me(one), 401, "jo's first session ended");
  t.equal(await me(two), 401, "jo's second session ended");
  t.equal(await me(other), 200, 'kim is still signed in');
  t.equal((await store.live('acct:')).length, 1, "only kim's partition is left");
  t.equal(decodeJwt(token).sid, undefined, '(the token had no sid)');
});
