// forwardAuth config: off by default, refused without a trustProxy list, and each opt-in needs the mode on.
import t from 'tap';
import { derive } from '../../src/config/derived.js';
import { configProblems, testConfig } from '../helpers/config.js';

const problems = configProblems;
const route = { name: 'orders', path: '/api/orders', target: 'http://127.0.0.1:1', scopes: ['api://o/read'] };

t.test('defaults: off, no hosts, routes opt out', async (t) => {
  const c = testConfig({ routes: [route] });
  t.equal(c.forwardAuth.enabled, false);
  t.same(c.forwardAuth.allowedHosts, []);
  t.equal(c.routes[0]?.forwardAuth, false);
  t.equal(c.session.cookieDomain, undefined);
});

t.test('enabled needs trustProxy to name the ingress', async (t) => {
  for (const trustProxy of [false, true, 1, []]) {
    const p = problems({ trustProxy, forwardAuth: { enabled: true } });
    t.match(
      p.join('\n'),
      /^forwardAuth\.enabled: needs trustProxy to list/m,
      `trustProxy ${JSON.stringify(trustProxy)}`,
    );
  }
  t.same(problems({ trustProxy: ['127.0.0.1'], forwardAuth: { enabled: true } }), []);
});

t.test('opt-ins need the mode on; other hosts need a cookie domain reaching them', async (t) => {
  t.match(
    problems({ routes: [{ ...route, forwardAuth: true }] }).join('\n'),
    /routes\[0\]\.forwardAuth: needs forwardAuth\.enabled/,
  );
  t.match(
    problems({
      forwardAuth: { allowedHosts: ['app.example.com'] },
      session: { cookieDomain: 'example.com' },
    }).join('\n'),
    /forwardAuth\.allowedHosts: needs forwardAuth\.enabled/,
  );
  const on = { trustProxy: ['10.0.0.0/8'], publicUrl: 'https://auth.example.com' };
  t.match(
    problems({ ...on, forwardAuth: { enabled: true, allowedHosts: ['app.example.com'] } }).join('\n'),
    /forwardAuth\.allowedHosts\[0\]: "app\.example\.com" is not under session\.cookieDomain \(unset\)/,
  );
  t.match(
    problems({
      ...on,
      forwardAuth: { enabled: true, allowedHosts: ['*.apps.example.org'] },
      session: { cookieDomain: 'example.com' },
    }).join('\n'),
    /forwardAuth\.allowedHosts\[0\]: "\*\.apps\.example\.org" is not under session\.cookieDomain \(example\.com\)/,
  );
  t.match(
    problems({ publicUrl: 'https://auth.example.org', session: { cookieDomain: 'example.com' } }).join('\n'),
    /session\.cookieDomain: publicUrl's host "auth\.example\.org" is not under "example\.com"/,
  );
  t.same(
    problems({
      ...on,
      forwardAuth: {
        enabled: true,
        allowedHosts: ['app.example.com', '*.apps.example.com', 'x.example.com:8443'],
      },
      session: { cookieDomain: 'example.com' },
    }),
    [],
  );
  for (const bad of [
    'App.example.com',
    'app.example.com.',
    '*.',
    'evil.com/x',
    'a@b.com',
    '*.*.example.com',
    'аpp.example.com',
  ]) {
    t.match(
      problems({
        ...on,
        forwardAuth: { enabled: true, allowedHosts: [bad] },
        session: { cookieDomain: 'example.com' },
      }).join('\n'),
      /forwardAuth\.allowedHosts/,
      `schema refuses ${JSON.stringify(bad)}`,
    );
  }
});

t.test('cookieDomain: the session cookie is __Secure- (a Domain forbids __Host-)', async (t) => {
  const shared = derive(
    testConfig({ publicUrl: 'https://auth.example.com', session: { cookieDomain: 'example.com' } }),
  );
  t.equal(shared.cookies.session, '__Secure-authward');
  t.equal(shared.cookies.domain, 'example.com');
  const own = derive(testConfig({ publicUrl: 'https://auth.example.com' }));
  t.equal(own.cookies.session, '__Host-authward');
  t.equal(own.cookies.domain, undefined);
});
