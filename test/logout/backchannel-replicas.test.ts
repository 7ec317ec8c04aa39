// Back-channel logout on two replicas sharing Redis: a sign-out on the provider's page ends the session on
// both (the receiving one at once, the other within session.revocationCheckInterval) and the account's
// token cache partition is gone from Redis.
import t from 'tap';
import { request } from 'undici';
import { Browser, signIn } from '../helpers/browser.js';
import { listKeys } from '../helpers/world.js';
import { logoutWorld } from './fixture.js';

const PREFIX = 'bcl:';

/** GET as an API client with exactly this session cookie. */
async function statusWith(url: string, cookie: string): Promise<number> {
  const res = await request(`${url}/x`, {
    headers: { accept: 'application/json', cookie: `authward=${cookie}` },
  });
  await res.body.dump();
  return res.statusCode;
}

const { idp, logout, redis, start } = await logoutWorld(t, { redis: PREFIX });
const overrides = { session: { revocationCheckInterval: 1 }, identity: { backchannelLogout: true } };
const a = await start(overrides);
const b = await start(overrides);
await logout.setBackchannelUri(idp, `${a.url}/.auth/backchannel-logout`);

t.test('a sign-out at the provider ends the session on both replicas and purges the tokens', async (t) => {
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  const page = await signIn(browser, `${a.url}/`, { login: 'riley' });
  t.equal(page.status, 200, 'signed in on A');
  const cookie = browser.cookie(a.url, 'authward') as string;
  t.equal(await statusWith(b.url, cookie), 200, 'B accepts the session (and now trusts its record)');
  const client = (redis as NonNullable<typeof redis>).client();
  const before = await listKeys(client, PREFIX);
  t.equal(before.filter((k) => k.startsWith('acct:')).length, 1, 'one token cache partition in Redis');
  t.ok(
    before.some((k) => k.startsWith('plo:sid:')),
    'the session is indexed by the provider sid',
  );
  t.ok(
    before.some((k) => k.startsWith('plo:sub:')),
    'and by user',
  );

  await logout.signOutAtProvider(idp, browser);
  t.same(
    logout.deliveries.map((d) => d.ok),
    [true],
    `the provider delivered one logout token and A answered 2xx ${JSON.stringify(logout.deliveries)}`,
  );
  t.equal(await statusWith(a.url, cookie), 401, 'A refuses the session at once');
  const after = await listKeys(client, PREFIX);
  const jtis = after.filter((k) => k.startsWith('lock:plo:jti:'));
  t.same(
    after.filter((k) => !jtis.includes(k)),
    [],
    'no record, partition or index entry is left in Redis',
  );
  t.equal(jtis.length, 1, 'the jti is remembered');
  t.ok((await client.pttl(`${PREFIX}${jtis[0]}`)) > 0, 'with a TTL');

  // B trusts the record it read for session.revocationCheckInterval (1 s): it refuses once that runs
  // out. Polled; the limit only stops a hang.
  const deadline = Date.now() + 60_000;
  let status = await statusWith(b.url, cookie);
  while (status === 200 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    status = await statusWith(b.url, cookie);
  }
  t.equal(status, 401, 'B refuses the session once its trust interval ran out');
});
