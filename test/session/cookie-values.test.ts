// How the session cookie's value is written and read: only `;` escaped (as authward's other sealed cookies),
// and read back exactly as the cookie library would decode it, so cookies written before (every `+`, `/`
// and `=` URI-encoded) still open.
import Fastify from 'fastify';
import t from 'tap';
import { cookieNames, decodeCookie, sessionCookiePlugin } from '../../src/session/cookie.js';
import { newKey, testConfig } from '../helpers/config.js';

/** The cookie library's own decode (cookie 1.x): decodeURIComponent once a `%` is there, else as is. */
function libraryDecode(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

t.test('decodeCookie gives what the cookie library gives', async (t) => {
  const values = [
    'plain',
    '',
    'abc%3Bdef',
    'a+b/c=%3Bd',
    '%3B%3B',
    '%3b',
    'a%2Bb%3Bc',
    'a%3Bb%2',
    '%E0%A4%A',
    '100%',
    '%3B%',
    'caf%C3%A9%3B',
    'x%253By',
  ];
  for (const v of values) t.equal(decodeCookie(v), libraryDecode(v), JSON.stringify(v));
});

t.test('the session cookie is written with only ";" escaped, and both forms open', async (t) => {
  const config = testConfig({ session: { keys: [newKey()] } });
  const names = cookieNames(config);
  const app = Fastify();
  await sessionCookiePlugin(app, config, names);
  app.get('/write', async (request) => {
    request.session.set('n' as never, 'written' as never);
    return 'ok';
  });
  app.get('/read', async (request) => ({ n: request.session.get('n' as never) }));
  await app.ready();
  t.teardown(() => app.close());

  const res = await app.inject({ url: '/write' });
  const written = String(res.headers['set-cookie']).match(new RegExp(`^${names.session}=([^;]*)`))?.[1];
  t.ok(written, 'a session cookie is set');
  const value = String(written);
  t.match(value, /^[A-Za-z0-9+/=]+%3B[A-Za-z0-9+/=]+$/, 'base64, the separator escaped, nothing else');
  const sealed = value.replace('%3B', ';');
  const forms: [string, string][] = [
    ['as written', value],
    ['URI-encoded (cookies written before)', encodeURIComponent(sealed)],
  ];
  for (const [form, sent] of forms) {
    const read = await app.inject({ url: '/read', headers: { cookie: `${names.session}=${sent}` } });
    t.same(read.json(), { n: 'written' }, form);
  }
});
