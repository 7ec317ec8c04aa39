// Cookies written before issue 13's field renames (LoopState {n, t}, LoginTx.t, PendingLogout.t) fail safe:
// a loop counter in the old shape counts as absent, a login transaction as expired (start again), a
// pending sign-out return as stale (the signed-out page).
import t from 'tap';
import { LOOP_LIMIT } from '../../src/auth/sign-in-loop.js';
import { encodeSealed } from '../../src/session/cookie.js';
import { startApp } from '../helpers/app.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { rawRequest } from './harness.js';

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
});
