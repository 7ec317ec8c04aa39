// One canonical path or a 400: dot segments, empty segments and encoded separators never reach the upstream.
import t, { type Test } from 'tap';
import { underPrefix } from '../../src/config/paths.js';
import { canonicalPath } from '../../src/proxy/canonical-path.js';
import { startUpstream } from '../helpers/upstream.js';
import { dechunk, rawSocket, startWorld } from '../helpers/world.js';

const refused = (t: Test, urls: string[], why: RegExp) => {
  for (const url of urls) t.match(canonicalPath(url), { error: why }, `${JSON.stringify(url)} refused`);
};

t.test('dot segments are refused in every encoding', async (t) => {
  refused(
    t,
    [
      '/a/../b',
      '/a/./b',
      '/..',
      '/a/..',
      '/a/.',
      '/a/%2e%2e/b',
      '/a/%2E%2e/b',
      '/a/.%2e/b',
      '/a/%2e./b',
      '/a/%2e/b',
      '/a/..;x=1/b',
      '/a/%2e%2e%3bx/b',
      '/a/..?q=1',
    ],
    /dot segments/,
  );
  refused(t, ['/a/%252e%252e/b', '/a/%25%32%65/b'], /encoded/);
  refused(t, ['/a/%c0%ae%c0%ae/b', '/a/%e0%80%ae/b', '/a/%zz/b', '/a/%'], /percent-encoding/);
});

t.test('empty segments are refused', async (t) => {
  refused(t, ['//evil.example/x', '/a//b', '/a/b//', '/a/%2f/b'], /empty segments|encoded/);
  t.match(canonicalPath('/a//b'), { error: /empty segments/ });
});

t.test('encoded slash, backslash, percent and NUL are refused', async (t) => {
  refused(t, ['/a%2fb', '/a%2Fb', '/a%5cb', '/a%5Cb', '/a%00b', '/a%25b'], /encoded "\/", "\\", "%" or NUL/);
});

t.test('control characters and backslashes are refused', async (t) => {
  refused(
    t,
    ['/a%0d%0aSet-Cookie:x', '/a%09b', '/a%7f', '/a%1b', '/a\\b', '/a\u0001b'],
    /control characters/,
  );
});

t.test('anything but origin-form is refused', async (t) => {
  refused(t, ['http://evil.example/x', '*', '', 'a/b', '%2fa'], /must be a path/);
  refused(t, ['/a#b', '/#'], /"#"/);
});

t.test(';parameters are dropped from each segment', async (t) => {
  t.same(canonicalPath('/a;jsessionid=1/b;x'), { path: '/a/b' });
  t.same(canonicalPath('/api;/x'), { path: '/api/x' });
  t.same(canonicalPath('/admin;/'), { path: '/admin/' });
  t.same(canonicalPath('/a/b/;jsessionid=1'), { path: '/a/b/' }, 'a trailing parameter-only segment');
  t.same(canonicalPath('/;jsessionid=1'), { path: '/' });
});

t.test(
  'a segment that is only a parameter is an empty segment (regression: prefix-rule bypass)',
  async (t) => {
    // "/;x/admin" must not become "//admin": a Tomcat-style upstream serves it as /admin, while a rule
    // for the "/admin" prefix would not have matched "//admin".
    refused(t, ['/;x/admin/panel', '/a/;x/b', '/a/%3bx/b', '/a/;/b'], /empty segments/);
  },
);

t.test('plain paths are unchanged (decoded, query dropped)', async (t) => {
  for (const p of [
    '/',
    '/a',
    '/a/b/',
    '/a/b.txt',
    '/.well-known/openid-configuration',
    '/a/..b',
    '/v1.2/x',
  ]) {
    t.same(canonicalPath(p), { path: p }, p);
  }
  // (`/a/...` ends in "." and is refused: Windows reads it as another name, see path-segment-aliases.)
  for (const p of ['/a/...', '/admin.', '/a./b', '/app.js./x', '/a.b.']) {
    t.match(canonicalPath(p), { error: /end in "\."/ }, `${p} refused (a dotted path's one-scan check)`);
  }
  t.same(canonicalPath('/a/b?x=../y//z&u=%2f#frag'), { path: '/a/b' }, 'the query is not the path');
  t.same(canonicalPath('/caf%C3%A9/x%20y'), { path: '/café/x y' }, 'percent-decoded once');
});

t.test('underPrefix matches whole segments only', async (t) => {
  t.ok(underPrefix('/api', '/api'));
  t.ok(underPrefix('/api/x', '/api'));
  t.notOk(underPrefix('/apix', '/api'));
  t.ok(underPrefix('/anything', ''), 'the root prefix holds every path');
});

t.test('through the app: ambiguous request targets get 400 and never reach the upstream', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startWorld(t, { idp: false, public: true, upstream: { url: upstream.url } });
  const targets = [
    '/a/../b',
    '/a/%2e%2e/b',
    '/static/..%2fadmin',
    '/x%2fy',
    '//evil.example/x',
    'http://evil.example/x',
    '/a#b',
    '/a%00b',
    '/a/%252e%252e/b',
    '/;x/admin',
  ];
  for (const target of targets) {
    const res = await rawSocket(
      proxy.port,
      `GET ${target} HTTP/1.1\r\nHost: app.example\r\nAccept: application/json\r\nConnection: close\r\n\r\n`,
    );
    t.equal(res.status, 400, `${target}: 400`);
    t.match(JSON.parse(dechunk(res)), { error: 'bad_request', requestId: String });
  }
  const upgrade = await rawSocket(
    proxy.port,
    [
      'GET /a/../socket HTTP/1.1',
      'Host: app.example',
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      '',
      '',
    ].join('\r\n'),
  );
  t.not(upgrade.status, 101, 'a WebSocket upgrade with dot segments is refused too');
  t.same(upstream.requests, [], 'the upstream saw nothing');

  const fine = await rawSocket(
    proxy.port,
    'GET /a;v=1/b?x=../y HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n',
  );
  t.equal(fine.status, 200, 'a plain request still passes');
  t.equal(upstream.requests.length, 1);
});
