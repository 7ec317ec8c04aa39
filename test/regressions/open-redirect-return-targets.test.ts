// Open redirects through every return target authward keeps or emits: the post-login target carried in
// the login transaction (state), the callback's Location, and the post-logout target. A corpus of
// published open-redirect payloads (PayloadsAllTheThings, HackTricks, PortSwigger), each sent
// percent-encoded (the server sees it exactly) and raw (the server decodes it once more).
import t, { type Test } from 'tap';
import { safeReturnTo } from '../../src/auth/return-to.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { rawRequest, setCookieValue, startApp } from '../helpers/world.js';

const D = 'evil.com';
const W = 'app.example.com'; // stands for the app's own host in "whitelisted host" tricks
const PAYLOADS = [
  // protocol-relative and slash/backslash runs
  `//${D}/%2f..`,
  `///${D}/%2f..`,
  `////${D}/%2f..`,
  `/////${D}`,
  `//${D}//`,
  `//${D}/%2e%2e`,
  `//www.${D}/%2f%2e%2e`,
  `//%09/${D}`,
  `///%09/${D}`,
  `//%5c${D}`,
  `///%5c${D}`,
  `////%5c${D}`,
  `/\\/\\/${D}/`,
  `/\\/${D}/`,
  `//\\/${D}/`,
  `//\\${D}`,
  `\\/\\/${D}/`,
  `%5c%5c${D}`,
  `%2f%2f${D}`,
  `/%2f%5c%2f%67%6f%6f%67%6c%65%2e%63%6f%6d/`,
  `/<>//${D}`,
  `////\\;@${D}`,
  `//;@${D}`,
  `/.;//${D}`,
  // schemes, with and without slashes, disguised
  `https://${D}/%2f..`,
  `/https://${D}/%2f..`,
  `/https:/%5c${D}/`,
  `/http://${D}`,
  `/http:/${D}`,
  `https:${D}`,
  `https:/${D}`,
  `hTtPs://${D}`,
  `/%68%74%74%70%3a%2f%2f%67%6f%6f%67%6c%65%2e%63%6f%6d`,
  `%68%74%74%70%3a%2f%2f${D}`,
  'javascript:alert(1)//',
  'java%0d%0ascript%0d%0a:alert(0)',
  'javascript://%250Aalert(1)',
  'j%0aavascript:alert(1)',
  '%09javascript:alert(1)',
  '/javascript:alert(1)'.replace('/', '//'),
  'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==',
  // userinfo and suffix domains
  `//${W}@${D}/%2f..`,
  `///${W}@${D}/%2f..`,
  `https://${W}@${D}/%2f..`,
  `/https://${W}@${D}/%2f..`,
  `https://${W}.${D}/`,
  `https://${W}%2e${D}/`,
  `https://${W}:443@${D}/`,
  `https://${D}\\@${W}/`,
  `https://${D}?${W}`,
  `https://${D}#${W}`,
  `https://${D}/${W}`,
  `@${D}`,
  `:@${D}`,
  `http://;@${D}`,
  // numeric and IPv6 hosts
  'http://0xd8.0x3a.0xd6.0xce',
  'http://3627734734',
  'http://[::216.58.214.206]',
  '//3627734734',
  // CR/LF and header injection
  `/%0d/${D}`,
  `/%0D%0A/${D}`,
  `%0d%0a/${D}`,
  '/x%0d%0aSet-Cookie:%20a=b',
  '/x%0d%0aLocation:%20https://evil.com',
  '/x%E5%98%8A%E5%98%8DSet-Cookie:%20a=b', // "嘊嘍": U+560A/U+560D, whose low bytes are CR/LF
  // unicode look-alikes of "/", "." and friends
  `/\u3031${D}`,
  `\u3031${D}`,
  `\u3031\u3031${D}`,
  `/\u24d4\u24e5\u24d8\u24db.\u24d2\u24de\u24dc`,
  `//\u24d4\u24e5\u24d8\u24db.\u24d2\u24de\u24dc`,
  `//evil\u3002com`,
  `//evil%E3%80%82com`,
  `/%EF%BC%8F%EF%BC%8F${D}`,
  `/%E2%88%95%E2%88%95${D}`,
  `/%C0%AF%C0%AF${D}`,
  `/%u002f%u002f${D}`,
  `/%E2%80%AE/moc.live`,
  `\uff0f\uff0f${D}`,
  // whitespace in front
  ` //${D}`,
  `%20//${D}`,
  `%0b//${D}`,
  `%0c//${D}`,
  `\u00a0//${D}`,
];

const ORIGIN = 'http://127.0.0.1:8080';

/** A return target is safe when no browser (or a server decoding it once more) can leave the origin with it. */
function assertSafe(t: Test, out: string, what: string) {
  t.ok(out.startsWith('/') && !/^\/[/\\]/.test(out), `${what}: a path (${JSON.stringify(out.slice(0, 40))})`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is checked for
  t.notOk(/[\u0000-\u001f\u007f\\\s]/.test(out), `${what}: no control characters, spaces or "\\"`);
  t.equal(new URL(out, ORIGIN).origin, ORIGIN, `${what}: resolves to the origin`);
  let decoded = out;
  for (let i = 0; i < 3; i++) {
    try {
      decoded = decodeURIComponent(decoded);
    } catch {
      break;
    }
    t.notOk(
      /^\s*[/\\]{2}|^\s*\/\\|^[a-z][a-z0-9+.-]*:/i.test(decoded),
      `${what}: safe after ${i + 1} decode(s)`,
    );
  }
}

/** The payload as a link would carry it raw: only what cannot appear in a request target is encoded. */
const raw = (p: string) => p.replace(/[^\u0021-\u007e]|[#&+]/g, (c) => encodeURIComponent(c));

t.test('safeReturnTo: the corpus, encoded once, twice and as typed', async (t) => {
  for (const p of PAYLOADS) {
    for (const [how, v] of [
      ['as is', p],
      [
        'decoded',
        (() => {
          try {
            return decodeURIComponent(p);
          } catch {
            return p;
          }
        })(),
      ],
      ['encoded', encodeURIComponent(p)],
      ['with origin', `${ORIGIN}${p.startsWith('/') ? '' : '/'}${p}`],
    ] as const) {
      assertSafe(t, safeReturnTo(v, ORIGIN), `${how} ${JSON.stringify(p).slice(0, 50)}`);
    }
  }
});

t.test('end to end: login transaction, callback Location, logout target', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const aw = await startApp({ idp, upstreamUrl: upstream.url });
  t.teardown(() => aw.close());
  const origin = aw.url;
  const navigate = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };

  /** The return target sealed into the login transaction (what the callback will redirect to). */
  const sealedTarget = async (query: string) => {
    const res = await rawRequest(aw.url, `/.auth/login?${query}`, { headers: navigate });
    t.equal(res.status, 302);
    const setCookies = [res.headers['set-cookie'] ?? []].flat();
    const name = setCookies.find((c) => c.startsWith('authward-tx-'))?.split('=', 1)[0] as string;
    const value = decodeURIComponent(setCookieValue(setCookies, name) as string);
    return aw.app.decodeSecureSession(value)?.get('tx')?.returnTo as string;
  };
  const check = (out: string, what: string) => {
    t.ok(out.startsWith('/') && !/^\/[/\\]/.test(out), `${what}: a path`);
    t.equal(new URL(out, origin).origin, origin, `${what}: on the origin`);
  };

  for (const [i, p] of PAYLOADS.entries()) {
    const what = JSON.stringify(p).slice(0, 50);
    // (returnTo is an alias read by the same line of code: a sample of the corpus is enough there.)
    for (const param of i < 10 ? ['post_login_redirect_uri', 'returnTo'] : ['post_login_redirect_uri']) {
      check(await sealedTarget(`${param}=${encodeURIComponent(p)}`), `login ${param} encoded ${what}`);
      check(await sealedTarget(`${param}=${raw(p)}`), `login ${param} raw ${what}`);
    }
    for (const value of [encodeURIComponent(p), raw(p)]) {
      const res = await rawRequest(aw.url, `/.auth/logout?post_logout_redirect_uri=${value}`, {
        method: 'POST',
        headers: { origin },
        body: '',
      });
      t.equal(res.status, 302, `logout ${what}`);
      const back = new URL(String(res.headers.location)).searchParams.get('post_logout_redirect_uri');
      t.equal(new URL(String(back)).origin, origin, `logout ${what}: the provider returns to the origin`);
      // The provider returns to /.auth/logout/complete, which goes on to the target sealed here.
      const lo = setCookieValue([res.headers['set-cookie'] ?? []].flat(), 'authward-logout') as string;
      check(aw.app.decodeSecureSession(decodeURIComponent(lo))?.get('lo')?.to as string, `logout ${what}`);
    }
  }

  // A few all the way through the provider: the callback's Location stays home.
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  for (const p of [
    `//${D}/%2f..`,
    `/https:/%5c${D}/`,
    `/\\/${D}/`,
    `//${W}@${D}/%2f..`,
    `/x%0d%0aSet-Cookie:%20a=b`,
  ]) {
    const page = await signIn(browser, `${aw.url}/.auth/login?post_login_redirect_uri=${raw(p)}`, {
      login: 'alice',
    });
    t.equal(page.status, 200, `${JSON.stringify(p)}: signed in`);
    t.ok(page.url.startsWith(`${origin}/`), `${JSON.stringify(p)}: landed on ${page.url}`);
    t.notOk(
      page.hops.some((h) => !h.startsWith(origin) && !h.startsWith(idp.origin)),
      'never left',
    );
  }
});

// forwardAuth.allowedHosts: a sign-in may return to another host, but only one the list names exactly
// (or a subdomain of a `*.` entry), on its listed port, with no userinfo, and under the scheme rules.
t.test('safeReturnTo with a host list: listed hosts only, every trick refused', async (t) => {
  const HTTPS = 'https://auth.example.com';
  const hosts = ['app.example.com', '*.apps.example.com', 'admin.example.com:8443'];
  const ok: [string, string][] = [
    ['https://app.example.com/x?y=1#z', 'https://app.example.com/x?y=1#z'],
    ['https://app.example.com:443/x', 'https://app.example.com/x'],
    ['https://app.example.com', 'https://app.example.com/'],
    ['https://a.apps.example.com/', 'https://a.apps.example.com/'],
    ['https://b.a.apps.example.com/p', 'https://b.a.apps.example.com/p'],
    ['https://admin.example.com:8443/p', 'https://admin.example.com:8443/p'],
    [`${HTTPS}/own`, '/own'],
    ['/own', '/own'],
  ];
  for (const [input, want] of ok) t.equal(safeReturnTo(input, HTTPS, hosts), want, `allowed: ${input}`);
  const refused = [
    // suffix and prefix tricks
    'https://app.example.com.evil.com/',
    'https://evilapp.example.com/',
    'https://app.example.comevil.com/',
    'https://apps.example.com/', // the wildcard's apex is not under it
    'https://x.apps.example.com.evil.com/',
    'https://evil.com/.apps.example.com',
    'https://evil.com?app.example.com',
    'https://evil.com#app.example.com',
    'https://evil.com\\@app.example.com/',
    'https://evil.com%2fapp.example.com/',
    // userinfo
    'https://app.example.com@evil.com/',
    'https://app.example.com:443@evil.com/',
    'https://user:pw@app.example.com/',
    'https://@app.example.com/',
    // ports
    'https://app.example.com:8443/',
    'https://admin.example.com/',
    'https://admin.example.com:443/',
    'https://admin.example.com:08443/',
    'https://app.example.com:/x',
    // IDN, case and trailing dots
    'https://аpp.example.com/', // Cyrillic "а"
    'https://xn--pp-8cd.example.com/',
    'https://app.ex\u0430mple.com/',
    'https://APP.example.com/',
    'https://app.example.com./',
    'https://app.example.com../',
    'https://a.apps.example.com./',
    'https://app..example.com/',
    // schemes and shapes
    'http://app.example.com/', // publicUrl is https: no downgrade
    'javascript://app.example.com/%0aalert(1)',
    'ftp://app.example.com/',
    '//app.example.com/',
    'https:/app.example.com/',
    'https:app.example.com/',
    'https://app.example.com\t/',
    ' https://app.example.com/',
    'https://127.0.0.1/',
    'https://[::1]/',
  ];
  for (const input of refused) {
    t.equal(safeReturnTo(input, HTTPS, hosts), '/', `stays home: ${JSON.stringify(input)}`);
  }
  // A listed host with an unsafe path: the host's root, never the path.
  t.equal(
    safeReturnTo('https://app.example.com/%0d%0aSet-Cookie:a=b', HTTPS, hosts),
    'https://app.example.com/',
  );
  t.equal(safeReturnTo('https://app.example.com//evil.com', HTTPS, hosts), 'https://app.example.com/');
  // Without a list (the default) nothing but the own origin, as before.
  t.equal(safeReturnTo('https://app.example.com/x', HTTPS), '/');
  // publicUrl http (a dev set-up): http and https to a listed host both pass.
  t.equal(
    safeReturnTo('http://app.example.com/x', 'http://auth.example.com', hosts),
    'http://app.example.com/x',
  );
  // The whole published corpus still stays home with a list in force.
  for (const p of PAYLOADS)
    assertSafe(t, safeReturnTo(p, ORIGIN, hosts), `corpus with a list ${JSON.stringify(p).slice(0, 40)}`);
});
