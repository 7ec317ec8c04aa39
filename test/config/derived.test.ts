// derive(config): origin, redirect URI, own prefix, cookie names and route prefixes, computed once and frozen.
import t from 'tap';
import { derive } from '../../src/config/derived.js';
import { cookieNames } from '../../src/session/cookie.js';
import { testConfig } from '../helpers/config.js';

const routes = [
  { name: 'api', path: '/api/', target: 'http://127.0.0.1:1', scopes: ['s'] },
  { name: 'files', path: '/files*', target: 'http://127.0.0.1:1', scopes: ['s'] },
  { name: 'deep', path: '/a/b//', target: 'http://127.0.0.1:1', scopes: ['s'] },
];

t.test('http publicUrl: values from the config, plain cookie names', async (t) => {
  const config = testConfig({
    publicUrl: 'http://app.example:8080',
    identity: { pathPrefix: '/.auth/', callbackPath: '/.auth/cb' },
    session: { cookieName: 'aw' },
    routes,
  });
  const d = derive(config);
  t.equal(d.origin, 'http://app.example:8080');
  t.equal(d.redirectUri, 'http://app.example:8080/.auth/cb');
  t.equal(d.ownPrefix, '/.auth', 'no trailing slash');
  t.same(d.routePrefixes, [
    { name: 'api', prefix: '/api' },
    { name: 'files', prefix: '/files' },
    { name: 'deep', prefix: '/a/b' },
  ]);
  t.match(d.cookies, {
    session: 'aw',
    txPrefix: 'aw-tx-',
    loop: 'aw-loop',
    logout: 'aw-logout',
    secure: false,
  });
});

t.test('https publicUrl: __Host- names (the loop counter excepted), default port left out', async (t) => {
  const d = derive(testConfig({ publicUrl: 'https://app.example:443/' }));
  t.equal(d.origin, 'https://app.example');
  t.equal(d.redirectUri, 'https://app.example/.auth/login/aad/callback');
  t.match(d.cookies, {
    session: '__Host-authward',
    txPrefix: '__Host-authward-tx-',
    loop: 'authward-loop',
    logout: '__Host-authward-logout',
    secure: true,
  });
  for (const n of ['__Host-authward', '__Host-authward-tx-abc', 'authward-loop', '__Host-authward-logout'])
    t.ok(d.cookies.isOwn(n), `${n} is own`);
  for (const n of ['authward', 'authward-tx-abc', '__Host-authward-other', 'other'])
    t.notOk(d.cookies.isOwn(n), `${n} is not own`);
});

t.test('session/cookie.ts writes exactly these names', async (t) => {
  const config = testConfig({ publicUrl: 'https://app.example', session: { cookieName: 'x_y-z' } });
  t.equal(cookieNames(config), derive(config).cookies);
});

t.test('computed once: the same frozen object for the same config', async (t) => {
  const config = testConfig({ routes });
  const d = derive(config);
  t.equal(derive(config), d, 'same object');
  t.ok(Object.isFrozen(d) && Object.isFrozen(d.cookies) && Object.isFrozen(d.routePrefixes));
  t.ok(Object.isFrozen(d.routePrefixes[0]));
  t.throws(() => {
    (d as { origin: string }).origin = 'http://evil.example';
  }, TypeError);
  t.not(derive(testConfig({ routes })), d, 'another config, another view');
});
