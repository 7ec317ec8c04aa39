// Return targets after sign-in and sign-out: only same-origin paths survive; every open-redirect form becomes "/".
import t from 'tap';
import { safeReturnTo } from '../../src/auth/return-to.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startWorld } from '../helpers/world.js';

const ORIGIN = 'https://app.example.com';

// Each of these, given to a browser as Location, could leave the origin (or smuggle a header).
const REFUSED = [
  '//evil.com',
  '//evil.com/path',
  '///evil.com',
  '////evil.com',
  '/\\evil.com',
  '\\/evil.com',
  '\\\\evil.com',
  '/\\/evil.com',
  '/%2f%2fevil.com',
  '/%2F%2Fevil.com',
  '/%5cevil.com',
  '/%5Cevil.com',
  '/%2f%5cevil.com',
  '%2f%2fevil.com',
  '%2F%2Fevil.com',
  '/%252f%252fevil.com',
  '/%25252f%25252fevil.com',
  '/%252f%255cevil.com',
  '/%09/evil.com',
  '/%0a/evil.com',
  '/\t/evil.com',
  '/\n/evil.com',
  '/\r\n/evil.com',
  '\t//evil.com',
  ' //evil.com',
  '/%0d%0aSet-Cookie:x=1',
  '/%0D%0ALocation:%20https://evil.com',
  '/ok\r\nSet-Cookie: x=1',
  '/%00//evil.com',
  '//evil%00.com',
  '/\u0000/evil.com',
  'https://evil.com',
  'https://evil.com/',
  'http://evil.com',
  'http:evil.com',
  'https:evil.com',
  'http:/evil.com',
  'https:\\\\evil.com',
  'HTTPS://EVIL.COM',
  'javascript:alert(1)',
  'JavaScript:alert(1)',
  'javascript://%0aalert(1)',
  ' javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'data:',
  'vbscript:msgbox(1)',
  'file:///etc/passwd',
  '//user@evil.com',
  '//user:pass@evil.com',
  'https://app.example.com@evil.com/',
  'https://app.example.com.evil.com/',
  'https://app.example.com:444/other-port',
  'http://app.example.com/other-scheme',
  'https://user:pass@app.example.com/x',
  'https://app.example.com//evil.com',
  'https://app.example.com/\\evil.com',
  // Dot segments that resolve to a protocol-relative path.
  '/.//evil.com',
  '/..//evil.com',
  '/a/..//evil.com',
  '/a/b/../..//evil.com',
  '/%2e//evil.com',
  '/%2E%2E//evil.com',
  '/.%2e//evil.com',
  'https://app.example.com/.//evil.com',
  // Unicode look-alikes of "/" are not "/": without a real leading slash the value is refused.
  '\uff0f\uff0fevil.com',
  '\u2215\u2215evil.com',
  '',
  '?next=/x',
  '#frag',
  'evil.com',
  'relative/path',
  '.',
  'x'.repeat(5000),
];

// Genuine same-origin targets: kept, normalised to path + query + fragment.
const KEPT: [string, string][] = [
  ['/', '/'],
  ['/deep/link?x=1&y=two#frag', '/deep/link?x=1&y=two#frag'],
  ['/@evil.com', '/@evil.com'],
  ['/evil.com', '/evil.com'],
  ['/a/./b', '/a/b'],
  ['/a/../b', '/b'],
  ['/%2e%2e/b', '/b'],
  ['/ /evil.com', '/%20/evil.com'],
  ['/%20/%2fevil.com', '/%20/%2fevil.com'],
  ['/x?next=//evil.com', '/x?next=//evil.com'],
  ['/x#//evil.com', '/x#//evil.com'],
  ['/\uff0fevil.com', '/%EF%BC%8Fevil.com'],
  ['/caf\u00e9', '/caf%C3%A9'],
  ['https://app.example.com/path?q=1#h', '/path?q=1#h'],
  ['https://app.example.com/', '/'],
];

t.test('open-redirect payloads become "/"', async (t) => {
  for (const payload of REFUSED) {
    t.equal(safeReturnTo(payload, ORIGIN), '/', `refused: ${JSON.stringify(payload.slice(0, 60))}`);
  }
});

t.test('same-origin targets are kept as a path', async (t) => {
  for (const [input, expected] of KEPT) {
    const out = safeReturnTo(input, ORIGIN);
    t.equal(out, expected, `kept: ${JSON.stringify(input)}`);
    // Whatever is kept must resolve to our origin when a browser follows it.
    t.equal(new URL(out, ORIGIN).origin, ORIGIN);
  }
});

t.test('non-strings are refused', async (t) => {
  for (const v of [undefined, null, 42, ['/x'], { toString: () => '/x' }])
    t.equal(safeReturnTo(v, ORIGIN), '/');
});

t.test('nothing this function returns leaves the origin (property over the whole corpus)', async (t) => {
  for (const input of [...REFUSED, ...KEPT.map(([i]) => i)]) {
    const out = safeReturnTo(input, ORIGIN);
    t.ok(out.startsWith('/') && !out.startsWith('//') && !/[\\\r\n\t\0]/.test(out), JSON.stringify(out));
    t.equal(new URL(out, ORIGIN).origin, ORIGIN);
  }
});

// The return target is checked at the start of the login and used after the callback, the same in both
// protocol modes: oidc only.
for (const mode of ['oidc'] as const) {
  t.test(`${mode}: end to end, a hostile post_login_redirect_uri lands on "/"`, async (t) => {
    const aw = await startWorld(t, { idp: { mode } });
    const { idp } = aw;

    for (const target of ['//evil.com', '/.//evil.com', 'https://evil.com/x', '/%5cevil.com']) {
      const browser = new Browser({ ca: idp.caPem });
      const login = `${aw.url}/.auth/login?post_login_redirect_uri=${encodeURIComponent(target)}`;
      const page = await signIn(browser, login, { login: 'alice' });
      await browser.close();
      t.equal(page.url, `${aw.url}/`, `${target}: signed in, landed on the app root`);
      t.equal(page.status, 200);
      t.notOk(
        page.hops.some((h) => !h.startsWith(aw.url) && !h.startsWith(idp.origin)),
        `${target}: never left the app and the provider`,
      );
    }

    // Control: a genuine deep link survives (so the checks above can fail).
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());
    const login = `${aw.url}/.auth/login?post_login_redirect_uri=${encodeURIComponent('/reports?year=2024')}`;
    const page = await signIn(browser, login, { login: 'alice' });
    t.equal(page.url, `${aw.url}/reports?year=2024`);
  });
}
