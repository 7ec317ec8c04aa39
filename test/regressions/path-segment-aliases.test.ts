// Segments that Windows/IIS or an NFKC-normalizing framework reads as another path (`/admin.`, `/admin%20`,
// `/admin::$DATA`, a fullwidth solidus or letters) are refused (400): an `/admin` rule never sees them as
// something else than the upstream does.
import t from 'tap';
import { canonicalPath } from '../../src/proxy/canonical-path.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { rawRequest, startApp } from '../helpers/world.js';

// Each of these is `/admin/x` (or `/admin`) to IIS/NTFS or to a server that NFKC-normalizes the path.
const ALIASES = [
  '/admin.',
  '/admin./x',
  '/admin..',
  '/admin%2e',
  '/admin%20',
  '/admin%20/x',
  '/admin.%20.',
  '/admin::$DATA',
  '/admin::%24DATA/x',
  '/admin:$i30:$index_allocation/x',
  '/admin.;x/y', // the parameter is dropped for matching: the segment is `admin.`
  '/x%EF%BC%8F..%EF%BC%8Fadmin', // fullwidth solidus: `/x/../admin` after NFKC
  '/x/%E2%80%A4%E2%80%A4/admin', // one dot leader (U+2024) twice: `..` after NFKC
  '/%EF%BC%8Fadmin', // fullwidth solidus at the start: `//admin`
  '/admin%EF%BC%8E', // fullwidth full stop: `admin.`
  '/admin%E3%80%80', // ideographic space: `admin ` after NFKC
  '/admin%C2%A0', // no-break space: `admin `
  '/%EF%BD%81dmin', // fullwidth small a: `admin` after NFKC
  '/%E2%84%81dmin', // U+2101 "a/s": a solidus appears under NFKC
];

t.test('canonicalPath refuses segments that alias another path', async (t) => {
  for (const url of ALIASES) t.match(canonicalPath(url), { error: /./ }, `${url} refused`);
  // Still served: dots and spaces inside a segment, colons without `$`, non-ASCII that NFKC keeps.
  for (const [url, path] of [
    ['/files/v1.2/report.pdf', '/files/v1.2/report.pdf'],
    ['/a%20b/c', '/a b/c'],
    ['/.well-known/openid-configuration', '/.well-known/openid-configuration'],
    ['/v1/projects/p:batchGet', '/v1/projects/p:batchGet'],
    ['/odata/$metadata', '/odata/$metadata'],
    ['/caf%C3%A9/%E6%97%A5%E6%9C%AC', '/café/日本'],
    ['/dir/', '/dir/'],
  ] as const) {
    t.same(canonicalPath(url), { path }, `${url} kept`);
  }
});

t.test('an /admin rule cannot be passed by a segment alias', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  idp.setUser('bob', { groups: ['staff'] });
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      authorization: { paths: [{ prefix: '/admin', requiredGroups: ['admins'] }] },
      publicRoutes: [{ path: '/static/*' }],
    },
  });
  t.teardown(() => aw.close());
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/.auth/login`, { login: 'bob' })).status, 200, 'bob signed in');
  const cookie = browser.cookieHeader(`${aw.url}/`) as string;
  const headers = { accept: 'application/json', cookie };

  t.equal(
    (await rawRequest(aw.url, '/admin/x', { headers })).status,
    403,
    'control: /admin/x is 403 for bob',
  );
  t.equal((await rawRequest(aw.url, '/other', { headers })).status, 200, 'control: bob reaches the upstream');
  const before = upstream.requests.length;
  for (const path of ALIASES) {
    const res = await rawRequest(aw.url, path, { headers });
    t.equal(res.status, 400, `${path}: 400`);
    t.notMatch(res.body, /at .*\.ts:\d+/, `${path}: no stack trace`);
  }
  // Anonymous, under a public prefix: `/static/x/../../admin` to an NFKC-normalizing upstream.
  const pub = await rawRequest(aw.url, '/static/x%EF%BC%8F..%EF%BC%8F..%EF%BC%8Fadmin', {
    headers: { accept: '*/*' },
  });
  t.equal(pub.status, 400, 'a fullwidth solidus under a public prefix: 400');
  t.equal(upstream.requests.length, before, 'none of them reached the upstream');
});
