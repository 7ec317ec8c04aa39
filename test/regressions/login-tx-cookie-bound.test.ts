// Regression (issue 11, item 4): login-transaction cookies locked a browser out for 10 minutes. Each
// login set its own ~3-4 KB cookie, and the limit of 3 counted only the cookies a request sent back,
// so logins started in parallel (restored tabs with long deep links, or a page that fires them) each
// added one: four made 16 KB of Cookie header, and every request, /.auth/login and /.auth/logout
// included, got Node's 431 until they expired. Now the login state a browser can hold is bounded
// (three fixed cookie names, each capped) whatever the order of requests, and a sign-in still works.
import t from 'tap';
import { Browser, type BrowserRequestInit, signIn } from '../helpers/browser.js';
import { NAV, startWorld } from '../helpers/world.js';

/** A browser that remembers the status of every response the app sent it. */
class CountingBrowser extends Browser {
  readonly statuses: { url: string; status: number }[] = [];
  constructor(
    ca: string,
    private readonly own: string,
  ) {
    super({ ca });
  }
  override async fetch(url: string, init: BrowserRequestInit = {}) {
    const res = await super.fetch(url, init);
    if (url.startsWith(this.own)) this.statuses.push({ url: url.slice(0, 80), status: res.status });
    return res;
  }
}

// What the bound promises (src/auth/login-tx.ts): 3 cookies of at most 2,500 bytes each.
const MAX_TX_HEADER = 3 * 2500;

t.test('parallel logins with long deep links never lock the browser out', async (t) => {
  const aw = await startWorld(t, {
    idp: { apiScopes: ['api://orders/read', 'api://orders/write'] },
    config: ({ upstream }) => ({
      identity: { routeScopes: 'firstUse' },
      routes: [
        {
          name: 'orders',
          path: '/orders',
          target: upstream.url,
          scopes: ['api://orders/read', 'api://orders/write'],
        },
      ],
    }),
  });
  const { idp } = aw;
  const b = new CountingBrowser(idp.caPem, aw.url);
  t.teardown(() => b.close());

  // 1,450 to 2,000 characters: some fit whole, some keep only their path.
  const deepLink = (i: number) => `/report/${i}?q=${'a'.repeat(1450 + ((i * 53) % 550))}`;
  const claims = JSON.stringify({ access_token: { acrs: { essential: true, value: 'c'.repeat(960) } } });
  const viaDeepLink = (i: number) => b.fetch(`${aw.url}${deepLink(i)}`, { headers: NAV });
  const viaLogin = (i: number) =>
    b.fetch(
      `${aw.url}/.auth/login?${new URLSearchParams({
        post_login_redirect_uri: deepLink(i),
        scopes: 'api://orders/read api://orders/write',
        claims,
      })}`,
      { headers: NAV },
    );
  const txCookies = () => b.cookies(aw.url).filter((c) => c.name.includes('-tx'));
  const txHeaderBytes = () => txCookies().reduce((n, c) => n + c.name.length + 1 + c.value.length + 2, 0);
  const check = (what: string) => {
    t.ok(txCookies().length <= 3, `${what}: ${txCookies().length} login cookies (at most 3)`);
    t.ok(
      txHeaderBytes() <= MAX_TX_HEADER,
      `${what}: ${txHeaderBytes()} bytes of login state in the Cookie header (at most ${MAX_TX_HEADER})`,
    );
  };
  const started = (rs: Response[], what: string) => {
    t.same(
      rs.map((r) => r.status),
      rs.map(() => 302),
      `${what}: every login started`,
    );
  };

  // 1. Twelve tabs restored at once: the requests all carry the same (empty) cookie jar.
  started(await Promise.all(Array.from({ length: 12 }, (_, i) => viaDeepLink(i))), '12 in parallel');
  check('after 12 parallel logins');
  // 2. Twelve more, one after the other (each sees the cookies the previous ones left).
  for (let i = 0; i < 12; i++) started([await viaLogin(100 + i)], `sequential login ${i}`);
  check('after 12 sequential logins with claims and scopes');
  // 3. Mixed, in parallel, over a full jar: the largest transactions the endpoint accepts.
  started(
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => (i % 2 ? viaLogin(200 + i) : viaDeepLink(200 + i))),
    ),
    '12 more in parallel',
  );
  check('after 36 logins');

  // authward's own endpoints and the app still answer.
  const me = await b.fetch(`${aw.url}/.auth/me`, { headers: { accept: 'application/json' } });
  t.equal(me.status, 401, '/.auth/me answers (401: not signed in)');
  const out = await b.fetch(`${aw.url}/.auth/logout`, { headers: NAV });
  t.equal(out.status, 200, '/.auth/logout answers (its confirmation page)');

  // And a sign-in completes, to its (long, kept whole) deep link, with every login cookie sent along.
  const target = `${aw.url}/report/final?q=${'b'.repeat(1500)}`;
  const page = await signIn(b, target, { login: 'alice' });
  t.equal(page.status, 200, 'signed in');
  t.equal(page.url, target, 'on the deep link');
  const who = await b.fetch(`${aw.url}/.auth/me`, { headers: { accept: 'application/json' } });
  t.equal(who.status, 200, '/.auth/me: signed in');
  check('after the sign-in');

  const tooLarge = b.statuses.filter((s) => s.status === 431);
  t.same(tooLarge, [], `no request of ${b.statuses.length} got 431`);
});
