// The session cookie: tamper-proof, bound to the keys, ends on lifetime and idle, rotates keys, small, never fixed.
import { randomUUID } from 'node:crypto';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { buildApp } from '../../src/app.js';
import { Browser, signIn } from '../helpers/browser.js';
import { newKey, testConfig } from '../helpers/config.js';
import { startIdp, type TestIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import {
  authorizeOnly,
  CapturingBrowser,
  KeyedStore,
  setCookieValue,
  sleep,
  startApp,
} from '../helpers/world.js';

type Raw = Record<string, unknown>;

/** GET as an API client with exactly this session cookie value: 200 (signed in) or 401. */
async function statusWith(url: string, value: string | undefined, path = '/whoami'): Promise<number> {
  const res = await request(`${url}${path}`, {
    headers: { accept: 'application/json', ...(value === undefined ? {} : { cookie: `authward=${value}` }) },
  });
  await res.body.dump();
  return res.statusCode;
}

async function signedInCookie(t: Test, idp: TestIdp, url: string, login = 'alice'): Promise<string> {
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  const page = await signIn(browser, `${url}/`, { login });
  t.equal(page.status, 200, `${login} signed in`);
  return browser.cookie(url, 'authward') as string;
}

// Cookie sealing, expiry and rotation do not depend on the protocol mode: oidc only.
t.test('session cookie', async (t) => {
  const idp = await startIdp({ mode: 'oidc' });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const store = new KeyedStore();
  const k1 = newKey();
  const app = (overrides: Raw = {}, port?: number) =>
    startApp({
      idp,
      upstreamUrl: upstream.url,
      store,
      ...(port ? { port } : {}),
      overrides: { ...overrides, session: { keys: [k1], ...((overrides.session as Raw) ?? {}) } },
    });
  const aw = await app();
  t.teardown(() => aw.close());

  await t.test('a tampered cookie is a signed-out one', async (t) => {
    const value = await signedInCookie(t, idp, aw.url);
    t.equal(await statusWith(aw.url, value), 200, 'control: the cookie as issued works');
    // The value is URL-encoded by @fastify/cookie: "<ciphertext>;<nonce>" (base64 both).
    const [cipher = '', nonce = ''] = decodeURIComponent(value).split(';');
    t.ok(cipher.length > 40 && Buffer.from(nonce, 'base64').length === 24, 'ciphertext and nonce');
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const enc = encodeURIComponent;
    for (const [what, forged] of [
      ['ciphertext', enc(`${flip(cipher, 20)};${nonce}`)],
      ['late ciphertext byte', enc(`${flip(cipher, cipher.length - 6)};${nonce}`)],
      ['nonce', enc(`${cipher};${flip(nonce, 5)}`)],
      ['swapped halves', enc(`${nonce};${cipher}`)],
      ['truncated', enc(`${cipher.slice(0, -8)};${nonce}`)],
      ['no nonce', enc(cipher)],
      ['empty', ''],
    ] as const) {
      t.equal(await statusWith(aw.url, forged), 401, `${what}: 401`);
      const me = await request(`${aw.url}/.auth/me`, { headers: { cookie: `authward=${forged}` } });
      await me.body.dump();
      t.equal(me.statusCode, 401, `${what}: /.auth/me 401`);
    }
  });

  await t.test('a cookie sealed with a foreign key is a signed-out one', async (t) => {
    const value = await signedInCookie(t, idp, aw.url);
    // Same store, so only the key differs.
    const foreign = await app({ session: { keys: [newKey()] } });
    t.teardown(() => foreign.close());
    t.equal(await statusWith(foreign.url, value), 401, 'another key: signed out');
    const twin = await app();
    t.teardown(() => twin.close());
    t.equal(await statusWith(twin.url, value), 200, 'control: same key and store, another instance');
  });

  await t.test(
    'lifetime and idle timeout end a session, even for a client that keeps the cookie',
    async (t) => {
      const short = await app({ session: { lifetime: 2 } });
      t.teardown(() => short.close());
      const idle = await app({ session: { idleTimeout: 1.5 } });
      t.teardown(() => idle.close());
      const sliding = await app({ session: { idleTimeout: 3 } });
      t.teardown(() => sliding.close());
      // Whole seconds: a 2 s lifetime lasts between 1 and 2 s, so each check follows its sign-in at once.
      const idleValue = await signedInCookie(t, idp, idle.url);
      t.equal(await statusWith(idle.url, idleValue), 200, 'idle: fresh cookie works');
      const shortValue = await signedInCookie(t, idp, short.url);
      t.equal(await statusWith(short.url, shortValue), 200, 'lifetime: fresh cookie works');
      const b = new Browser({ ca: idp.caPem });
      t.teardown(() => b.close());
      await signIn(b, `${sliding.url}/`, { login: 'alice' });

      // Activity every 1.2 s keeps an idle timeout of 3 s from ending the session (the cookie slides).
      const started = Date.now();
      while (Date.now() - started < 3600) {
        await sleep(1200);
        const res = await b.fetch(`${sliding.url}/active`, { headers: { accept: 'application/json' } });
        await res.arrayBuffer();
        t.equal(res.status, 200, `still signed in after ${Date.now() - started} ms of activity`);
      }
      t.equal(await statusWith(short.url, shortValue), 401, 'past the absolute lifetime: signed out');
      const shortMe = await request(`${short.url}/.auth/me`, {
        headers: { cookie: `authward=${shortValue}` },
      });
      await shortMe.body.dump();
      t.equal(shortMe.statusCode, 401, 'lifetime: /.auth/me agrees');
      // /.auth/me first: it must not count as activity, and must see the idle timeout too.
      const idleMe = await request(`${idle.url}/.auth/me`, { headers: { cookie: `authward=${idleValue}` } });
      await idleMe.body.dump();
      t.equal(idleMe.statusCode, 401, 'idle: /.auth/me agrees');
      t.equal(await statusWith(idle.url, idleValue), 401, 'idle past the timeout: signed out');
    },
  );

  await t.test(
    'key rotation: [k2, k1] keeps sessions (and re-seals them), [k2] alone ends k1 cookies',
    async (t) => {
      const port = await freePort();
      const k2 = newKey();
      const first = await app({}, port);
      const v1 = await signedInCookie(t, idp, first.url);
      await first.close();

      const rotating = await startApp({
        idp,
        upstreamUrl: upstream.url,
        store,
        port,
        overrides: { session: { keys: [k2, k1] } },
      });
      const res = await request(`${rotating.url}/x`, {
        headers: { accept: 'application/json', cookie: `authward=${v1}` },
      });
      await res.body.dump();
      t.equal(res.statusCode, 200, 'a k1 cookie still works after k2 is added in front');
      const v2 = setCookieValue([res.headers['set-cookie'] ?? []].flat(), 'authward');
      t.ok(v2 && v2 !== v1, 'the cookie is re-sealed with the new key');
      await rotating.close();

      const rotated = await startApp({
        idp,
        upstreamUrl: upstream.url,
        store,
        port,
        overrides: { session: { keys: [k2] } },
      });
      t.teardown(() => rotated.close());
      t.equal(await statusWith(rotated.url, v1), 401, 'k1 removed: the old cookie is signed out');
      t.equal(await statusWith(rotated.url, v2), 200, 'the re-sealed cookie survives');
    },
  );

  await t.test(
    'attributes: HttpOnly, SameSite=Lax, Path=/; with an https publicUrl __Host- and Secure',
    async (t) => {
      const http = await signInCookieHeaders(t, idp, upstream, store, k1, 'http');
      t.match(http.session, /^authward=[^;]+; Path=\/; HttpOnly; SameSite=Lax$/);
      t.notMatch(http.session, /Secure|Domain|Max-Age|Expires/i);
      t.match(http.tx, /^authward-tx-[0-2]=[^;]+; Max-Age=600; Path=\/; HttpOnly; SameSite=Lax$/);

      const https = await signInCookieHeaders(t, idp, upstream, store, k1, 'https');
      t.match(https.session, /^__Host-authward=[^;]+; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
      t.notMatch(https.session, /Domain/i);
      t.match(
        https.tx,
        /^__Host-authward-tx-[0-2]=[^;]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
      );
    },
  );

  await t.test('a new sign-in issues a new cookie and kills the old one (no fixation)', async (t) => {
    const b = new Browser({ ca: idp.caPem });
    t.teardown(() => b.close());
    await signIn(b, `${aw.url}/`, { login: 'alice' });
    const before = b.cookie(aw.url, 'authward') as string;
    const again = await signIn(b, `${aw.url}/.auth/login?post_login_redirect_uri=/again`, { login: 'alice' });
    t.equal(again.url, `${aw.url}/again`);
    const after = b.cookie(aw.url, 'authward') as string;
    t.not(after, before, 'a different cookie value');
    t.equal(await statusWith(aw.url, before), 401, 'the pre-login cookie no longer works');
    t.equal(await statusWith(aw.url, after), 200);

    // A cookie planted before sign-in (an attacker's own session) is replaced, and its session ended.
    const attacker = await signedInCookie(t, idp, aw.url, 'mallory');
    const victim = new Browser({ ca: idp.caPem });
    t.teardown(() => victim.close());
    victim.setCookie(aw.url, `authward=${attacker}; Path=/; HttpOnly; SameSite=Lax`);
    await signIn(victim, `${aw.url}/.auth/login`, { login: 'victim' });
    const victimCookie = victim.cookie(aw.url, 'authward') as string;
    t.not(victimCookie, attacker, 'the planted value is not kept');
    t.equal(await statusWith(aw.url, attacker), 401, 'the planted session is over');
    const me = await victim.fetch(`${aw.url}/.auth/me`);
    const [entry] = (await me.json()) as { user_claims: { typ: string; val: string }[] }[];
    t.ok(
      entry?.user_claims.some((c) => c.typ === 'sub' && c.val === 'victim'),
      'signed in as the victim',
    );
  });
});

// aad only: its account ids (uid.utid) are the longest, so its cookie is the largest.
for (const mode of ['aad'] as const) {
  t.test(
    `${mode}: a user in 300 groups: the cookie stays small, the groups still reach the upstream`,
    async (t) => {
      const idp = await startIdp({ mode });
      t.teardown(() => idp.close());
      const upstream = await startUpstream();
      t.teardown(() => upstream.close());
      // X-Forwarded-Groups alone: with X-MS-CLIENT-PRINCIPAL too the identity headers pass 16 KB (below).
      const aw = await startApp({
        idp,
        upstreamUrl: upstream.url,
        overrides: { upstream: { identityHeaders: { msClientPrincipal: false } } },
      });
      t.teardown(() => aw.close());
      const groups = Array.from({ length: 300 }, () => randomUUID());
      idp.setUser('big', { groups });

      const browser = new CapturingBrowser({ ca: idp.caPem });
      t.teardown(() => browser.close());
      const callback = `${aw.url}/.auth/login/aad/callback`;
      const cb = await authorizeOnly(browser, `${aw.url}/`, callback, 'big');
      const res = await browser.fetch(cb, { navigation: true });
      await res.arrayBuffer();
      t.equal(res.status, 302);
      const session = res.headers.getSetCookie().find((c) => c.startsWith('authward='));
      t.ok(session, 'a session cookie');
      t.ok((session as string).length < 4096, `Set-Cookie is ${(session as string).length} bytes (< 4096)`);

      const page = await browser.navigate(`${aw.url}/groups`);
      t.equal(page.status, 200);
      const h = JSON.parse(page.body).headers as Record<string, string>;
      t.same(h['x-forwarded-groups']?.split(','), groups, 'all 300 groups, in order');

      // With both header families (the default) the groups would make the identity headers over 30 KB
      // (a Node upstream answers 431 past 16 KB): the principal leaves them out and says `hasgroups`.
      const both = await startApp({ idp, upstreamUrl: upstream.url });
      t.teardown(() => both.close());
      const b2 = new Browser({ ca: idp.caPem });
      t.teardown(() => b2.close());
      const withBoth = await signIn(b2, `${both.url}/groups`, { login: 'big' });
      t.equal(withBoth.status, 200, 'default header families, 300 groups');
      const hb = JSON.parse(withBoth.body).headers as Record<string, string>;
      const principal = JSON.parse(
        Buffer.from(hb['x-ms-client-principal'] as string, 'base64').toString('utf8'),
      );
      t.ok(
        principal.claims.some((c: { typ: string; val: string }) => c.typ === 'hasgroups' && c.val === 'true'),
        'the principal says groups were left out',
      );
      t.equal(hb['x-forwarded-groups']?.split(',').length, 300, 'X-Forwarded-Groups still carries them');
    },
  );
}

/** Signs in against an app whose publicUrl is http or https, returning the Set-Cookie lines it sent. */
async function signInCookieHeaders(
  t: Test,
  idp: TestIdp,
  upstream: TestUpstream,
  store: KeyedStore,
  key: string,
  scheme: 'http' | 'https',
): Promise<{ session: string; tx: string }> {
  const port = await freePort();
  const publicUrl = `${scheme}://127.0.0.1:${port}`;
  const listenUrl = `http://127.0.0.1:${port}`;
  const callback = `${publicUrl}/.auth/login/aad/callback`;
  idp.addRedirectUri(callback);
  const config = testConfig({
    listen: { host: '127.0.0.1', port },
    publicUrl,
    identity: {
      protocol: idp.mode,
      authority: idp.authority,
      clientId: idp.clients.secret.clientId,
      clientSecret: idp.clients.secret.clientSecret,
      caFile: idp.caFile,
    },
    session: { keys: [key] },
    upstream: { url: upstream.url },
  });
  const app = await buildApp(config, { store });
  await app.listen({ host: '127.0.0.1', port });
  t.teardown(() => app.close());
  while (!app.readiness.ready) await sleep(20);

  // TLS is terminated in front of authward: the browser talks http to it, the provider sends it to https.
  const browser = new CapturingBrowser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  const first = await browser.fetch(`${listenUrl}/`, {
    headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
  });
  await first.arrayBuffer();
  const tx = first.headers.getSetCookie().find((c) => c.includes('-tx-')) as string;
  const cb = await authorizeOnly(browser, `${listenUrl}/`, callback, 'alice');
  const res = await browser.fetch(cb.replace(publicUrl, listenUrl), { navigation: true });
  await res.arrayBuffer();
  t.equal(res.status, 302, `${scheme}: the callback signs in`);
  const session = res.headers.getSetCookie().find((c) => /^(__Host-)?authward=/.test(c)) as string;
  return { session, tx };
}
