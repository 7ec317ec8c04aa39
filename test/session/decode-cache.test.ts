// The session stage's cache of decoded cookies and its Cookie parsing (kept by value): a hit is exactly
// a decode. What one request does to its session or cookies never reaches the next request with the
// same cookie; a cookie that only an older key opens is re-issued, not served from the cache.
import Fastify from 'fastify';
import t from 'tap';
import { cookieNames, sessionCookiePlugin } from '../../src/session/cookie.js';
import { newKey, testConfig } from '../helpers/config.js';

async function appWith(keys: string[]) {
  const config = testConfig({ session: { keys } });
  const names = cookieNames(config);
  const app = Fastify();
  await sessionCookiePlugin(app, config, names);
  app.get('/read', async (request) => ({ n: request.session.get('n' as never), cookies: request.cookies }));
  app.get('/write', async (request) => {
    request.session.set('n' as never, 'changed' as never);
    (request.cookies as Record<string, string>).other = 'changed';
    return 'ok';
  });
  await app.ready();
  return { app, names };
}

t.test('decoded cookies and parsed headers are per request', async (t) => {
  const key = newKey();
  const { app, names } = await appWith([key]);
  t.teardown(() => app.close());
  const value = app.encodeSecureSession(app.createSecureSession({ n: 'original' }));
  const cookie = `${names.session}=${encodeURIComponent(value)}; other=1`;

  const first = await app.inject({ url: '/read', headers: { cookie } });
  t.same(first.json(), { n: 'original', cookies: { [names.session]: value, other: '1' } });
  t.equal(first.headers['set-cookie'], undefined, 'an unchanged session is not re-issued');

  const write = await app.inject({ url: '/write', headers: { cookie } });
  t.match(String(write.headers['set-cookie']), new RegExp(`^${names.session}=`), 'a changed one is');

  const again = await app.inject({ url: '/read', headers: { cookie } });
  t.same(again.json(), first.json(), 'the next request with the same cookie sees it as sent');

  const a = app.decodeSecureSession(value);
  const b = app.decodeSecureSession(value);
  t.not(a, b, 'each decode is its own session object');
  a?.set('n' as never, 'mine' as never);
  t.equal(b?.get('n' as never), 'original');
  t.equal(app.decodeSecureSession(value)?.get('n' as never), 'original');

  const none = await app.inject({ url: '/read' });
  t.same(none.json(), { cookies: {} }, 'no Cookie header: no session data, no cookies');
  t.equal(app.decodeSecureSession(`${value.slice(0, -4)}AAA=`), null, 'a tampered cookie decodes to nothing');
});

t.test('a cookie only an older key opens is re-issued under the current key, every time', async (t) => {
  const oldKey = newKey();
  const before = await appWith([oldKey]);
  const value = before.app.encodeSecureSession(before.app.createSecureSession({ n: 'kept' }));
  await before.app.close();
  const { app, names } = await appWith([newKey(), oldKey]);
  t.teardown(() => app.close());
  const cookie = `${names.session}=${encodeURIComponent(value)}`;
  for (const round of [1, 2]) {
    const res = await app.inject({ url: '/read', headers: { cookie } });
    t.equal(res.json().n, 'kept', `round ${round}: the older key still opens it`);
    const reissued = String(res.headers['set-cookie']).match(new RegExp(`^${names.session}=([^;]*)`))?.[1];
    t.ok(reissued, `round ${round}: re-issued`);
    t.not(decodeURIComponent(String(reissued)), value, `round ${round}: under the current key`);
  }
});
