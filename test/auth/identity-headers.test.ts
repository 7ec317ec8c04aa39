// Identity headers: client copies are stripped, the real ones are injected safely encoded, authward's cookies stay home.
import t, { type Test } from 'tap';
import { WebSocket } from 'ws';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp, type TestApp } from '../helpers/world.js';

// What a client might send to impersonate someone: every family, odd case, underscore spellings.
const SPOOFED: Record<string, string> = {
  'X-MS-CLIENT-PRINCIPAL': Buffer.from(
    JSON.stringify({ auth_typ: 'aad', claims: [{ typ: 'roles', val: 'App.Admin' }] }),
  ).toString('base64'),
  'X-MS-CLIENT-PRINCIPAL-ID': 'admin-id',
  'X-MS-CLIENT-PRINCIPAL-NAME': 'admin@evil.example',
  'X-MS-CLIENT-PRINCIPAL-IDP': 'evil',
  'X-MS-TOKEN-AAD-ACCESS-TOKEN': 'forged-token',
  'x-forwarded-user': 'admin',
  X_Forwarded_Email: 'admin@evil.example',
  'X-Forwarded-GROUPS': 'Domain Admins',
  'X-Forwarded-Preferred-Username': 'admin@evil.example',
  x_ms_client_principal_id: 'admin-id',
  'X-Auth-Request-User': 'admin',
  'X-Authward-User': 'admin',
};

type Headers = Record<string, string | undefined>;

const decodePrincipal = (h: Headers) =>
  JSON.parse(Buffer.from(h['x-ms-client-principal'] as string, 'base64').toString('utf8')) as {
    auth_typ: string;
    claims: { typ: string; val: string }[];
    name_typ: string;
    role_typ: string;
  };

/** No client-sent value survives: no underscore names, no spoofed value anywhere in what arrived. */
function assertNoSpoof(t: Test, headers: Headers, rawHeaders: string[], where: string) {
  t.same(
    Object.keys(headers).filter((k) => k.includes('_')),
    [],
    `${where}: no underscore header names`,
  );
  const spoofValues = new Set(Object.values(SPOOFED));
  t.same(
    rawHeaders.filter((_v, i) => i % 2 === 1 && spoofValues.has(rawHeaders[i] as string)),
    [],
    `${where}: no spoofed value arrived`,
  );
  for (const name of ['x-ms-token-aad-access-token', 'x-auth-request-user', 'x-authward-user']) {
    t.notOk(name in headers, `${where}: ${name} absent`);
  }
  // Each identity header at most once.
  const names = rawHeaders.filter((_v, i) => i % 2 === 0).map((n) => n.toLowerCase());
  t.same(
    names.filter((n, i) => names.indexOf(n) !== i),
    [],
    `${where}: no header arrives twice`,
  );
}

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: identity headers`, async (t) => {
    const idp = await startIdp({ mode });
    t.teardown(() => idp.close());
    const upstream = await startUpstream();
    t.teardown(() => upstream.close());
    const start = (identityHeaders: Record<string, boolean> = {}) =>
      startApp({
        idp,
        upstreamUrl: upstream.url,
        overrides: { publicRoutes: [{ path: '/public/*' }], upstream: { identityHeaders } },
      });
    const aw = await start();
    t.teardown(() => aw.close());
    idp.setUser('alice', {
      email: 'alice@example.com',
      groups: ['g1', 'g2'],
      roles: ['App.User', 'App.Reader'],
    });
    const evil = 'Zo\u00eb%41\r\nX-Evil: 1';
    idp.setUser('zoe', { name: evil, preferred_username: evil, email: 'zoe@example.com' });
    const aliceId = mode === 'aad' ? idp.oidFor('alice') : 'alice';

    const browsers: Browser[] = [];
    t.teardown(() => Promise.all(browsers.map((b) => b.close())));
    const signedIn = async (app: TestApp, login: string) => {
      const b = new Browser({ ca: idp.caPem });
      browsers.push(b);
      t.equal((await signIn(b, `${app.url}/`, { login })).status, 200, `${login} signed in`);
      return b;
    };
    const echo = async (b: Browser, url: string, headers: Record<string, string> = SPOOFED) => {
      const res = await b.fetch(url, { headers: { accept: 'application/json', ...headers } });
      t.equal(res.status, 200, `${url} reached the upstream`);
      return (await res.json()) as { headers: Headers; rawHeaders: string[] };
    };

    await t.test('signed in: spoofed headers are replaced by the real ones', async (t) => {
      const b = await signedIn(aw, 'alice');
      const { headers: h, rawHeaders } = await echo(b, `${aw.url}/app`);
      t.equal(h['x-ms-client-principal-id'], aliceId);
      t.equal(h['x-ms-client-principal-name'], 'alice@test.invalid');
      t.equal(h['x-ms-client-principal-idp'], mode === 'aad' ? 'aad' : idp.host);
      t.equal(h['x-forwarded-user'], aliceId);
      t.equal(h['x-forwarded-email'], 'alice@example.com');
      t.equal(h['x-forwarded-groups'], 'g1,g2');
      t.equal(h['x-forwarded-preferred-username'], 'alice@test.invalid');
      const p = decodePrincipal(h);
      t.same(Object.keys(p).sort(), ['auth_typ', 'claims', 'name_typ', 'role_typ'], 'App Service shape');
      t.equal(p.auth_typ, mode === 'aad' ? 'aad' : idp.host);
      t.equal(p.name_typ, 'preferred_username');
      t.equal(p.role_typ, 'roles');
      t.ok(p.claims.every((c) => typeof c.typ === 'string' && typeof c.val === 'string'));
      t.same(
        p.claims.filter((c) => c.typ === 'roles').map((c) => c.val),
        ['App.User', 'App.Reader'],
        'one claim entry per role',
      );
      t.notOk(
        p.claims.some((c) => c.val === 'App.Admin'),
        'nothing from the spoofed principal',
      );
      assertNoSpoof(t, h, rawHeaders, 'signed in');
    });

    await t.test('public route: none of the identity headers arrive', async (t) => {
      const anon = new Browser();
      browsers.push(anon);
      const { headers: h, rawHeaders } = await echo(anon, `${aw.url}/public/page`);
      for (const name of Object.keys(SPOOFED)) {
        t.notOk(name.toLowerCase() in h, `${name} absent`);
        t.notOk(name.toLowerCase().replace(/_/g, '-') in h, `${name} (dashed) absent`);
      }
      assertNoSpoof(t, h, rawHeaders, 'public');
      // Signed in, on a public route: still nothing forged arrives.
      const b = await signedIn(aw, 'alice');
      const signedPublic = await echo(b, `${aw.url}/public/page`);
      t.not(signedPublic.headers['x-forwarded-user'], 'admin');
      assertNoSpoof(t, signedPublic.headers, signedPublic.rawHeaders, 'public, signed in');
    });

    await t.test("authward's cookies stay home; the app's own cookies pass", async (t) => {
      const b = await signedIn(aw, 'alice');
      b.setCookie(aw.url, 'app=1; Path=/');
      b.setCookie(aw.url, 'authwardish=keep; Path=/');
      b.setCookie(aw.url, 'authward-tx-AAAAAAAAAAAA=x; Path=/');
      const { headers: h } = await echo(b, `${aw.url}/cookies`, {});
      const names = (h.cookie ?? '').split('; ').map((c) => c.split('=')[0]);
      t.same(names.sort(), ['app', 'authwardish'], "only the app's cookies");

      // The WebSocket path builds its upstream headers separately: same rules.
      const ws = new WebSocket(`${aw.url.replace('http', 'ws')}/socket`, {
        headers: { cookie: b.cookieHeader(`${aw.url}/socket`) ?? '', ...SPOOFED },
      });
      t.teardown(() => ws.terminate());
      const first = await new Promise<string>((resolve, reject) => {
        ws.once('message', (d) => resolve(String(d)));
        ws.once('error', reject);
      });
      const seen = JSON.parse(first) as { headers: Headers; rawHeaders: string[] };
      t.equal(seen.headers['x-forwarded-user'], aliceId, 'WebSocket: the real user');
      t.same(
        (seen.headers.cookie ?? '')
          .split('; ')
          .map((c) => c.split('=')[0])
          .sort(),
        ['app', 'authwardish'],
        'WebSocket: only the app cookies',
      );
      assertNoSpoof(t, seen.headers, seen.rawHeaders, 'WebSocket');
    });

    await t.test('CR/LF and non-ASCII in a claim arrive percent-encoded, no header injection', async (t) => {
      const b = await signedIn(aw, 'zoe');
      const { headers: h, rawHeaders } = await echo(b, `${aw.url}/zoe`);
      t.equal(h['x-forwarded-preferred-username'], 'Zo%C3%AB%2541%0D%0AX-Evil: 1');
      t.equal(h['x-ms-client-principal-name'], 'Zo%C3%AB%2541%0D%0AX-Evil: 1');
      t.equal(
        decodeURIComponent(h['x-forwarded-preferred-username'] as string),
        evil,
        'decodes to the claim',
      );
      t.notOk('x-evil' in h, 'no injected header');
      t.notOk(
        rawHeaders.some((v) => /[\r\n]/.test(v)),
        'no raw CR/LF anywhere',
      );
      const p = decodePrincipal(h);
      t.ok(
        p.claims.some((c) => c.typ === 'name' && c.val === evil),
        'the principal carries the exact UTF-8 claim',
      );
    });

    await t.test('header families can be turned off; client copies are stripped anyway', async (t) => {
      const noForwarded = await start({ forwarded: false });
      t.teardown(() => noForwarded.close());
      const b1 = await signedIn(noForwarded, 'alice');
      const r1 = await echo(b1, `${noForwarded.url}/x`);
      for (const n of [
        'x-forwarded-user',
        'x-forwarded-email',
        'x-forwarded-groups',
        'x-forwarded-preferred-username',
      ]) {
        t.notOk(n in r1.headers, `forwarded off: ${n} absent`);
      }
      t.equal(r1.headers['x-ms-client-principal-id'], aliceId, 'the other family still arrives');
      assertNoSpoof(t, r1.headers, r1.rawHeaders, 'forwarded off');

      const noPrincipal = await start({ msClientPrincipal: false });
      t.teardown(() => noPrincipal.close());
      const b2 = await signedIn(noPrincipal, 'alice');
      const r2 = await echo(b2, `${noPrincipal.url}/x`);
      for (const n of Object.keys(r2.headers).filter((k) => k.startsWith('x-ms-'))) {
        t.fail(`msClientPrincipal off: ${n} arrived`);
      }
      t.equal(r2.headers['x-forwarded-user'], aliceId, 'the other family still arrives');
      assertNoSpoof(t, r2.headers, r2.rawHeaders, 'principal off');
    });
  });
}
