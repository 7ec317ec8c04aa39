// The callback under attack: forged or moved state, replayed codes, provider errors, forged ID tokens, foreign tenants.
import { randomBytes } from 'node:crypto';
import t, { type Test } from 'tap';
import { type Browser, signIn } from '../helpers/browser.js';
import { type IdTokenTamper, startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { authorizeOnly, CapturingBrowser, KeyedStore, startApp } from '../helpers/world.js';

const rand = (n: number) => randomBytes(n).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: callback attacks`, async (t) => {
    const idp = await startIdp({ mode });
    t.teardown(() => idp.close());
    const upstream = await startUpstream();
    t.teardown(() => upstream.close());
    const store = new KeyedStore();
    const aw = await startApp({ idp, upstreamUrl: upstream.url, store });
    t.teardown(() => aw.close());
    const callback = `${aw.url}/.auth/login/aad/callback`;
    const browsers: Browser[] = [];
    t.teardown(() => Promise.all(browsers.map((b) => b.close())));
    const newBrowser = () => {
      const b = new CapturingBrowser({ ca: idp.caPem });
      browsers.push(b);
      return b;
    };

    /** No session: /.auth/me says 401, no session cookie in the jar, nothing new in the store. */
    const expectNoSession = async (
      t: Test,
      browser: Browser,
      before: { sess: number; acct: number },
      what: string,
    ) => {
      const me = await browser.fetch(`${aw.url}/.auth/me`);
      await me.arrayBuffer();
      t.equal(me.status, 401, `${what}: /.auth/me is 401`);
      t.notOk(
        browser.cookies(aw.url).some((c) => c.name === 'authward'),
        `${what}: no session cookie was set`,
      );
      t.equal((await store.live('sess:')).length, before.sess, `${what}: no session record stored`);
      t.equal((await store.live('acct:')).length, before.acct, `${what}: no tokens cached`);
    };
    const counts = async () => ({
      sess: (await store.live('sess:')).length,
      acct: (await store.live('acct:')).length,
    });
    /** Starts a login in `browser` (tx cookie set) and returns its state, without visiting the provider. */
    const startLogin = async (browser: Browser) => {
      const res = await browser.fetch(`${aw.url}/.auth/login?post_login_redirect_uri=/somewhere`, {
        headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
      });
      await res.arrayBuffer();
      return new URL(String(res.headers.get('location'))).searchParams.get('state') as string;
    };

    await t.test('a forged state is refused', async (t) => {
      const before = await counts();
      const b = newBrowser();
      const page = await b.navigate(`${callback}?code=${rand(32)}&state=${rand(9)}.${rand(24)}`);
      t.equal(page.status, 400);
      t.match(page.body, /another browser|expired/);
      // Same transaction id as a real login in this browser, different secret part.
      const real = await startLogin(b);
      const forged = `${real.split('.')[0]}.${rand(24)}`;
      const again = await b.navigate(`${callback}?code=${rand(32)}&state=${forged}`);
      t.equal(again.status, 400, 'a state matching only the transaction id is refused');
      await expectNoSession(t, b, before, 'forged state');
      t.equal(idp.counters.authorizationCode, 0, 'no code was ever sent to the provider');
    });

    await t.test('a callback moved to another browser is refused; the original still works', async (t) => {
      const a = newBrowser();
      const cb = await authorizeOnly(a, `${aw.url}/mine`, callback, 'alice');
      const before = await counts();
      const b = newBrowser();
      const stolen = await b.navigate(cb);
      t.equal(stolen.status, 400, "B cannot finish A's login");
      await expectNoSession(t, b, before, 'moved callback');
      const own = await a.navigate(cb);
      t.equal(own.status, 200, 'control: A finishes its own login');
      t.equal(own.url, `${aw.url}/mine`);
    });

    await t.test('a replayed code is refused and creates no session', async (t) => {
      const a = newBrowser();
      const cb = await authorizeOnly(a, `${aw.url}/`, callback, 'alice');
      // The attacker even holds a copy of the transaction cookie.
      const c = newBrowser();
      c.addCookies(a.cookies());
      const first = await a.navigate(cb);
      t.equal(first.status, 200, 'first use signs in');
      const before = await counts();
      const second = await a.navigate(cb);
      t.equal(second.status, 400, 'same browser, second use: the transaction is gone');
      const replay = await c.navigate(cb);
      t.equal(replay.status, 400, 'with a copied transaction cookie: the provider refuses the used code');
      t.match(replay.body, /authorization code is invalid or used/);
      await expectNoSession(t, c, before, 'replayed code');
    });

    await t.test('missing or repeated state and code are refused', async (t) => {
      const b = newBrowser();
      const before = await counts();
      t.equal((await b.navigate(`${callback}?code=abc`)).status, 400, 'no state');
      t.equal((await b.navigate(callback)).status, 400, 'nothing at all');
      const state = await startLogin(b);
      t.equal((await b.navigate(`${callback}?state=${state}`)).status, 400, 'valid state, no code');
      const s2 = await startLogin(b);
      t.equal((await b.navigate(`${callback}?state=${s2}&state=${s2}&code=x`)).status, 400, 'repeated state');
      const s3 = await startLogin(b);
      t.equal((await b.navigate(`${callback}?state=${s3}&code=x&code=y`)).status, 400, 'repeated code');
      await expectNoSession(t, b, before, 'missing parameters');
    });

    await t.test('a provider error is a 403 page that reflects nothing the provider sent', async (t) => {
      const before = await counts();
      const b = newBrowser();
      const page = await signIn(b, `${aw.url}/`, { login: 'alice', consent: false });
      t.equal(page.status, 403, 'the user cancelled: access_denied');
      t.match(page.response.headers.get('content-type'), /text\/html/);
      t.match(page.body, /access_denied/);
      await expectNoSession(t, b, before, 'access_denied');

      const s = await startLogin(b);
      const xss = '<script>alert(1)</script>';
      const crafted = await b.navigate(
        `${callback}?state=${s}&error=access_denied&error_description=${encodeURIComponent(xss)}&error_uri=${encodeURIComponent('javascript:alert(1)')}`,
      );
      t.equal(crafted.status, 403);
      t.notMatch(crafted.body, /<script/i, 'error_description is not reflected');
      t.notMatch(crafted.body, /javascript:/i, 'error_uri is not reflected');
      t.match(crafted.response.headers.get('content-security-policy'), /default-src 'none'/);
      const s2 = await startLogin(b);
      const odd = await b.navigate(`${callback}?state=${s2}&error=${encodeURIComponent(xss)}`);
      t.equal(odd.status, 400, 'an unknown error code is a 400');
      t.notMatch(odd.body, /<script/i, 'the error code itself is not reflected');
      await expectNoSession(t, b, before, 'crafted provider error');
    });

    // Each forged ID token: MSAL alone would accept all of these (it checks only the nonce).
    const tampers: [string, IdTokenTamper][] = [
      ['wrong nonce', ({ payload }) => ({ payload: { ...payload, nonce: rand(24) } })],
      ['no nonce', ({ payload }) => ({ payload: { ...payload, nonce: undefined } })],
      ['wrong audience', ({ payload }) => ({ payload: { ...payload, aud: 'someone-else' } })],
      ['wrong issuer', ({ payload }) => ({ payload: { ...payload, iss: 'https://evil.example/' } })],
      ['expired', ({ payload }) => ({ payload: { ...payload, iat: nowS() - 7200, exp: nowS() - 3600 } })],
      ['not yet valid', ({ payload }) => ({ payload: { ...payload, nbf: nowS() + 3600 } })],
      ['signed by another key (same kid)', ({ payload }) => ({ payload, signWith: 'other-key' })],
      [
        'signed by another key (unknown kid)',
        ({ payload }) => ({ payload, header: { kid: 'attacker-1' }, signWith: 'other-key' }),
      ],
      ['unsigned (alg none)', ({ payload }) => ({ payload, signWith: 'none' })],
    ];
    // MSAL itself rejects a wrong or missing nonce (nonce_mismatch) before our verifier runs: still a 400.

    await t.test('a forged ID token is refused: 400, no session, nothing stored', async (t) => {
      for (const [name, fn] of tampers) {
        const before = await counts();
        const seen = upstream.requests.length;
        idp.tamperNextIdToken(fn);
        const b = newBrowser();
        const { status } = await signIn(b, `${aw.url}/`, { login: 'mallory' });
        t.not(status, 200, `${name}: refused`);
        t.equal(status, 400, `${name}: 400`);
        t.equal(upstream.requests.length, seen, `${name}: nothing reached the upstream`);
        await expectNoSession(t, b, before, name);
      }
      // Control: the same flow without tampering signs in (so the loop above can fail).
      const b = newBrowser();
      const ok = await signIn(b, `${aw.url}/`, { login: 'mallory' });
      t.equal(ok.status, 200, 'control: an untampered sign-in works');
    });

    await t.test('logins in parallel tabs each finish; a fourth drops the oldest', async (t) => {
      const b = newBrowser();
      const tabs: string[] = [];
      for (const path of ['/one', '/two', '/three']) {
        tabs.push(await authorizeOnly(b, `${aw.url}${path}`, callback, 'alice'));
      }
      for (const [i, path] of [
        [2, '/three'],
        [0, '/one'],
        [1, '/two'],
      ] as const) {
        const page = await b.navigate(tabs[i] as string);
        t.equal(page.url, `${aw.url}${path}`, `tab ${path} finished`);
      }
      const older = await startLogin(b);
      await startLogin(b);
      await startLogin(b);
      await startLogin(b);
      const dropped = await b.navigate(`${callback}?code=x&state=${older}`);
      t.equal(dropped.status, 400, 'the oldest of four pending logins was dropped');
      t.ok(
        b.cookies(aw.url).filter((c) => c.name.startsWith('authward-tx-')).length <= 3,
        'at most 3 pending',
      );
    });

    await t.test('a tenant outside identity.allowedTenants is refused with 403', async (t) => {
      const refusing = await startApp({
        idp,
        upstreamUrl: upstream.url,
        store,
        overrides: { identity: { allowedTenants: ['00000000-0000-0000-0000-00000000beef'] } },
      });
      t.teardown(() => refusing.close());
      const before = await counts();
      const b = newBrowser();
      const page = await signIn(b, `${refusing.url}/`, { login: 'alice' });
      t.equal(page.status, 403);
      await expectNoSession(t, b, before, 'foreign tenant');
      const me = await b.fetch(`${refusing.url}/.auth/me`);
      t.equal(me.status, 401);

      if (mode === 'aad') {
        const allowing = await startApp({
          idp,
          upstreamUrl: upstream.url,
          overrides: { identity: { allowedTenants: [idp.tenantId.toUpperCase()] } },
        });
        t.teardown(() => allowing.close());
        const ok = await signIn(newBrowser(), `${allowing.url}/`, { login: 'alice' });
        t.equal(ok.status, 200, 'control: the own tenant (any case) is allowed');
      }
    });
  });
}
