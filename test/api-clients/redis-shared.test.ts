// Two replicas on one Redis: a token acquired on behalf of a caller by one is served by the other
// from the store (no second provider request), sealed at rest (no token in Redis in the clear).
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { startRedis } from '../helpers/redis.js';
import { apiWorld, call, userToken } from './harness.js';

t.test('on-behalf-of results shared through Redis', async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const w = await apiWorld(t, 'aad');
  const orders = await startApi(w.idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => orders.close());
  const overrides = {
    tokenCache: {
      type: 'redis',
      url: redis.url,
      keyPrefix: 'ac:',
      encryptionKeys: [randomBytes(32).toString('base64')],
    },
    routes: [{ name: 'orders', path: '/api/orders', target: orders.url, scopes: ['api://orders/read'] }],
  };
  const a = await w.start(overrides);
  const b = await w.start(overrides);
  const token = await userToken(w.idp, 'dora');
  const before = w.idp.counters.otherGrants;

  t.equal((await call(`${a.url}/api/orders/1`, token)).status, 200, 'replica A');
  t.equal(w.idp.counters.otherGrants, before + 1, 'A asked the provider once');
  const fromA = orders.requests.at(-1)?.headers.authorization;
  t.equal((await call(`${b.url}/api/orders/2`, token)).status, 200, 'replica B');
  t.equal(w.idp.counters.otherGrants, before + 1, 'B found it in Redis: no provider request');
  t.equal(orders.requests.at(-1)?.headers.authorization, fromA, 'the same token');

  const client = redis.client();
  const keys = await client.keys('ac:obo:*');
  t.equal(keys.length, 1, 'one entry, named by a hash');
  const raw = await client.getBuffer(keys[0] as string);
  const downstream = String(fromA).slice(7);
  t.notOk(raw?.toString('latin1').includes(downstream.split('.')[2] ?? '-'), 'sealed at rest');
  t.notOk((keys[0] as string).includes(token.slice(-20)), 'the key does not contain the token');
  const ttl = await client.ttl(keys[0] as string);
  t.ok(ttl > 0 && ttl <= 3600, `TTL within the token's lifetime (${ttl} s)`);
});
