// Tokens never appear in authward's log at any level: accepted, refused, on-behalf-of and its result.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { apiWorld, appOnlyToken, call, userToken } from './harness.js';

t.test('no token in any log line (debug level)', async (t) => {
  const w = await apiWorld(t, 'aad');
  const orders = await startApi(w.idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => orders.close());
  const aw = await w.start({
    routes: [{ name: 'orders', path: '/api/orders', target: orders.url, scopes: ['api://orders/read'] }],
  });
  const user = await userToken(w.idp, 'dora');
  const app = await appOnlyToken(w.idp);
  const forged = await w.grants.mint(
    { sub: 'x', aud: 'api://authward-test', scope: 'nope' },
    { key: 'other-key' },
  );
  t.equal((await call(`${aw.url}/x`, user)).status, 200);
  t.equal((await call(`${aw.url}/x`, app)).status, 200);
  t.equal((await call(`${aw.url}/api/orders/a`, user)).status, 200);
  t.equal((await call(`${aw.url}/x`, forged)).status, 401);
  t.equal((await call(`${aw.url}/x`, 'a'.repeat(20_000))).status, 431);
  const downstream = orders.requests.at(-1)?.headers.authorization?.slice(7) ?? '';
  t.ok(downstream.length > 100, 'an on-behalf-of token was issued');

  const text = w.logs.join('\n');
  t.ok(w.logs.length > 5, 'lines were captured');
  t.ok(text.includes('"client":"api"'), 'the access log says api');
  // Any 40-character stretch of a token (its signature in particular) would give it away.
  for (const [what, token] of [
    ['user token', user],
    ['app token', app],
    ['forged token', forged],
    ['on-behalf-of token', downstream],
  ] as const) {
    const signature = token.split('.')[2] ?? '';
    t.notOk(text.includes(signature.slice(0, 40)), `${what}: signature not logged`);
    t.notOk(text.includes(token.split('.')[1]?.slice(0, 40) ?? '-'), `${what}: payload not logged`);
  }
});
