// Sign-out while Redis is unreachable: the browser is signed out at once, and a copy of its cookie
// (a stolen one, another tab's) is refused on this replica while Redis is down and after it is back:
// the session record is deleted as soon as Redis answers again, not left to live out its lifetime.
import { Redis } from 'ioredis';
import t from 'tap';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startRedis } from '../helpers/redis.js';
import { call, listKeys, logout, redisCache, startWorld, until } from '../helpers/world.js';

const PREFIX = 'signout:';
const w = await startWorld(t, { apis: ['orders', 'graph', 'bench'], cookieScope: 'host', app: false });
const redis = await startRedis();
t.teardown(() => redis.stop());
const direct = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true });
t.teardown(() => direct.disconnect());
const fp = await startFaultProxy({ target: { port: redis.port } });
t.teardown(() => fp.close());
const app = await w.start({
  tokenCache: redisCache(w, `redis://127.0.0.1:${fp.port}`, PREFIX, {
    commandTimeout: 1,
    connectTimeout: 1,
  }),
});
const browser = await w.signIn('oscar', { app: app });
/** The copied cookie alone, sent as an API call would (401, not a redirect, when refused). */
const replay = async (cookie: string) => {
  const res = await fetch(`${app.url}/app`, { headers: { cookie, accept: 'application/json' } });
  await res.arrayBuffer();
  return res.status;
};
const records = async () => (await listKeys(direct, PREFIX)).filter((k) => k.startsWith('sess:'));

t.test('sign-out with Redis unreachable, then Redis back', async (t) => {
  t.equal((await call(browser, `${app.url}/app`)).status, 200, 'signed in');
  t.equal((await records()).length, 1, 'one session record in Redis');
  const copy = browser.cookieHeader(`${app.url}/app`) ?? '';
  t.ok(copy, 'a copy of the session cookie');
  t.equal(await replay(copy), 200, 'control: the copy works before sign-out');

  // (the listener closes only once its connections are gone: refuse, then cut them)
  const refused = fp.refuse();
  fp.cutAll();
  await refused;
  t.teardown(() => fp.accept());
  const status = await logout(browser, app);
  t.equal(status, 302, 'sign-out answers as usual');
  t.equal((await call(browser, `${app.url}/app`)).status, 401, 'the browser is signed out');
  t.equal(await replay(copy), 401, 'the copied cookie is refused while Redis is down');
  t.equal((await records()).length, 1, 'the record is still in Redis (it could not be deleted)');

  await fp.accept();
  await until('the record to be deleted once Redis is back', async () => (await records()).length === 0);
  t.equal(await replay(copy), 401, 'the copied cookie is still refused with Redis back');
});
