// What Redis holds is sealed: no token, name, email or MSAL field in any value; key rotation keeps sessions, dropping the old key ends them.
import t from 'tap';
import { newKey } from '../helpers/config.js';
import { startRedis } from '../helpers/redis.js';
import {
  API_DEFS,
  blobFingerprint,
  call,
  keyFingerprint,
  listKeys,
  readPartition,
  redisCache,
  startWorld,
} from '../helpers/world.js';

const PREFIX = 'rest:';
const LOGIN = 'zelda-rest';
const EMAIL = 'zelda.private@example.org';
const NAME = 'Zelda Privatestone';

t.test('sealed at rest, and key rotation', async (t) => {
  const w = await startWorld(t, { apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });
  w.idp.setUser(LOGIN, { email: EMAIL, name: NAME, preferred_username: EMAIL });
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const raw = redis.client();
  const k1 = w.cacheKey;
  const k2 = newKey();
  const cache = (keys: string[]) => redisCache(w, redis.url, PREFIX, { encryptionKeys: keys });

  const app1 = await w.start({ tokenCache: cache([k1]) });
  const browser = await w.signIn(LOGIN, { app: app1 });
  t.equal((await call(browser, `${app1.url}${API_DEFS.orders.path}/x`)).status, 200);
  const bearer = String(w.apis.orders.requests.at(-1)?.headers.authorization).replace(/^Bearer /, '');

  const keys = await listKeys(raw, PREFIX);
  const acct = keys.find((k) => k.startsWith('acct:')) as string;
  const sess = keys.find((k) => k.startsWith('sess:')) as string;
  t.ok(acct && sess, `a partition and a session record were written (${keys.length} keys)`);

  // The secrets to look for, taken from the decrypted partition (so we know what was sealed).
  const partition = await readPartition(raw, PREFIX, acct, k1);
  const secrets = (section: 'AccessToken' | 'RefreshToken' | 'IdToken') =>
    Object.values(partition[section] ?? {}).map((e) => String(e.secret));
  const needles: Record<string, string[]> = {
    'access token': [bearer, ...secrets('AccessToken')],
    'refresh token': secrets('RefreshToken'),
    'ID token': secrets('IdToken'),
    'login name': [LOGIN],
    email: [EMAIL],
    'display name': [NAME],
    'MSAL field': ['"secret"', 'home_account_id', 'RefreshToken'],
  };
  t.ok(
    needles['refresh token']?.[0] && needles['ID token']?.[0],
    'the partition holds a refresh and an ID token',
  );

  for (const key of keys) {
    const blob = (await raw.getBuffer(PREFIX + key)) as Buffer;
    const text = blob.toString('latin1');
    const found = Object.entries(needles).flatMap(([what, list]) =>
      list.some((n) => text.includes(n) || text.includes(Buffer.from(n).toString('base64'))) ? [what] : [],
    );
    t.same(found, [], `${key.replace(LOGIN, '<login>')}: no plaintext in the value (${blob.length} bytes)`);
    t.equal(blobFingerprint(blob), keyFingerprint(k1), `${key.replace(LOGIN, '<login>')}: sealed with k1`);
  }

  // Rotation, step 1: a new first key, the old one still listed. Same sessions, no sign-in.
  await app1.close();
  const before = { ...w.idp.counters };
  const app2 = await w.start({ tokenCache: cache([k2, k1]) });
  const orders = await call(browser, `${app2.url}${API_DEFS.orders.path}/x`);
  t.equal(orders.status, 200, '[k2, k1]: the k1 session and partition still open');
  t.equal(orders.body.sub, LOGIN);
  t.equal(w.idp.counters.authorize, before.authorize, 'no new sign-in');
  const graph = await call(browser, `${app2.url}${API_DEFS.graph.path}/x`);
  t.equal(graph.status, 200, 'a refresh from the k1 partition works');
  const rewritten = (await raw.getBuffer(PREFIX + acct)) as Buffer;
  t.equal(blobFingerprint(rewritten), keyFingerprint(k2), 'the refreshed partition was written with k2');
  t.ok(await readPartition(raw, PREFIX, acct, k2), 'and opens with k2 alone');

  // Rotation, step 2: the old key dropped. The k1 session record cannot be opened: signed out.
  await app2.close();
  const app3 = await w.start({ tokenCache: cache([k2]) });
  const api = await call(browser, `${app3.url}${API_DEFS.orders.path}/x`);
  t.equal(api.status, 401, '[k2]: an API call gets 401, not a crash');
  t.equal(api.body.error, 'unauthenticated');
  const page = await browser.fetch(`${app3.url}/some/page`, {
    headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
  });
  t.equal(page.status, 302, 'a page navigation is sent to sign in');
  t.match(page.headers.get('location'), w.idp.discovery.authorization_endpoint);
  t.equal((await fetch(`${app3.url}/healthz`)).status, 200, 'the process is fine');

  const again = await w.signIn(LOGIN, { app: app3 });
  t.equal((await call(again, `${app3.url}${API_DEFS.orders.path}/x`)).status, 200, 'signing in again works');
  for (const key of (await listKeys(raw, PREFIX)).filter((k) => !k.startsWith('lock:'))) {
    const blob = (await raw.getBuffer(PREFIX + key)) as Buffer;
    if (key === sess) continue; // the old, now unreadable record: it expires with its TTL
    t.equal(blobFingerprint(blob), keyFingerprint(k2), `${key.replace(LOGIN, '<login>')}: sealed with k2`);
  }
});
