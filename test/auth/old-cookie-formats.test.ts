// Cookies written before issue 13's field renames (LoopState {n, t}, LoginTx.t, PendingLogout.t) fail safe:
// a loop counter in the old shape counts as absent, a login transaction as expired (start again), a
// pending sign-out return as stale (the signed-out page). A signed-in session in the old shape (cookie
// key `d`, stored record {a, c, h}) stays signed in: its cookie is rewritten under the current key.
import { decodeJwt } from 'jose';
import t from 'tap';
import { LOOP_LIMIT } from '../../src/auth/sign-in-loop.js';
import { encodeSealed } from '../../src/session/cookie.js';
import { sealerFromConfig } from '../../src/token-cache/crypto.js';
import { Browser, signIn } from '../helpers/browser.js';
import { newKey } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { KeyedStore, rawRequest, startApp } from '../helpers/world.js';

const navigate = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };

t.test('old cookie formats are treated as absent or expired', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const aw = await startApp({ idp, upstreamUrl: upstream.url });
  t.teardown(() => aw.close());
  const seal = (data: Record<string, unknown>) =>
    encodeSealed(aw.app.encodeSecureSession(aw.app.createSecureSession(data as never)));

  t.test('sign-in loop counter {n, t}: absent, the sign-in starts', async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const current = await rawRequest(aw.url, '/app', {
      headers: {
        ...navigate,
        cookie: `authward-loop=${seal({ loop: { count: LOOP_LIMIT, startedAt: now } })}`,
      },
    });
    t.equal(current.status, 508, 'control: the current shape at the limit stops the sign-in');
    const old = await rawRequest(aw.url, '/app', {
      headers: { ...navigate, cookie: `authward-loop=${seal({ loop: { n: LOOP_LIMIT + 2, t: now } })}` },
    });
    t.equal(old.status, 302, 'the old shape counts nothing: off to the provider');
    t.match(String(old.headers.location), /^https:/);
  });

  t.test('pending sign-out return with t: not trusted, the signed-out page', async (t) => {
    const complete = (lo: Record<string, unknown>) =>
      rawRequest(aw.url, '/.auth/logout/complete?state=s1', {
        headers: { ...navigate, cookie: `authward-logout=${seal({ lo })}` },
      });
    const current = await complete({ state: 's1', to: '/dest', startedAt: Date.now() });
    t.equal(current.status, 302, 'control: the current shape returns to its target');
    t.equal(current.headers.location, '/dest');
    const old = await complete({ state: 's1', to: '/dest', t: Date.now() });
    t.equal(old.status, 200, 'the old shape is never fresh');
    t.match(old.body, /You are signed out/);
  });

  t.test('login transaction with t: expired, the callback asks to start again', async (t) => {
    const control = new Browser({ ca: idp.caPem });
    t.teardown(() => control.close());
    t.equal(
      (await signIn(control, `${aw.url}/app`, { login: 'alice' })).status,
      200,
      'control: sign-in works',
    );

    const b = new Browser({ ca: idp.caPem });
    t.teardown(() => b.close());
    const atProvider = await b.navigate(`${aw.url}/app`);
    const cookie = b.cookies(aw.url).find((c) => c.name.startsWith('authward-tx-'));
    if (!cookie) throw new Error('no login transaction cookie');
    const sealed = aw.app.decodeSecureSession(decodeURIComponent(cookie.value))?.get('tx');
    const tx = { ...sealed } as Record<string, unknown>;
    t.type(tx.startedAt, 'number', 'the current shape names startedAt');
    const { startedAt, ...rest } = tx;
    b.addCookies([{ ...cookie, value: seal({ tx: { ...rest, t: startedAt } }) }]);
    const page = await signIn(b, atProvider.url, { login: 'alice' });
    t.equal(page.status, 400);
    t.match(page.body, /sign-in expired or was started in another browser/);
    t.equal(upstream.requests.length, 1, 'only the control browser reached the app');
  });

  t.test(
    'signed-in session in the old shape (cookie key d, record {a, c, h}): still signed in',
    async (t) => {
      const store = new KeyedStore();
      const overrides = { session: { keys: [newKey()] }, tokenCache: { encryptionKeys: [newKey()] } };
      const replica = () => startApp({ idp, upstreamUrl: upstream.url, store, overrides });
      const first = await replica();
      t.teardown(() => first.close());
      const b = new Browser({ ca: idp.caPem });
      t.teardown(() => b.close());
      t.equal((await signIn(b, `${first.url}/app`, { login: 'alice' })).status, 200, 'signed in');
      const decode = (value: string) => first.app.decodeSecureSession(decodeURIComponent(value));
      const cookie = decode(b.cookie(first.url, 'authward') as string);
      const current = cookie?.get('signedIn');
      t.type(current?.sid, 'string', 'the current cookie names its key signedIn');
      t.equal(cookie?.get('d'), undefined, 'and has no d');

      const [key] = await store.live('sess:');
      const sealer = sealerFromConfig(first.config.tokenCache);
      if (!key || !sealer) throw new Error('no sealed session record');
      const record = JSON.parse(String(sealer.open((await store.get(key)) as Buffer, key)));
      t.same(Object.keys(record).sort(), ['claims', 'homeAccountId', 'idToken'], 'the current record');
      const old = { a: record.homeAccountId, c: record.claims, h: record.idToken };
      await store.set(key, sealer.seal(Buffer.from(JSON.stringify(old)), key), 3600);

      // Another replica: it has not read this record yet, so it reads the old shape from the store.
      const second = await replica();
      t.teardown(() => second.close());
      const oldSession = first.app.createSecureSession({ d: current } as never);
      const oldCookie = `authward=${encodeSealed(first.app.encodeSecureSession(oldSession))}`;
      const res = await rawRequest(second.url, '/app', { headers: { ...navigate, cookie: oldCookie } });
      t.equal(res.status, 200, 'the old cookie and record are signed in');
      t.equal(upstream.lastRequest?.headers['x-ms-client-principal-id'], 'alice', 'as alice');
      const reissued = String(res.headers['set-cookie']).match(/^authward=([^;]*)/)?.[1];
      const moved = reissued ? decode(reissued) : null;
      t.same(moved?.get('signedIn'), current, 'the cookie is rewritten under the current key');
      t.equal(moved?.get('d'), undefined, 'without d');

      const out = await rawRequest(second.url, '/.auth/logout', {
        method: 'POST',
        headers: { origin: second.url, cookie: oldCookie },
      });
      t.equal(out.status, 302, 'signs out');
      const hint = new URL(String(out.headers.location)).searchParams.get('id_token_hint');
      t.equal(hint && decodeJwt(hint).sub, 'alice', "the old record's ID token is the hint");
    },
  );
});
