// Authorization after sign-in: users, groups, roles, tenants, per-path rules; 403 page or JSON, fail closed.
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp, type TestApp } from '../helpers/world.js';

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: authorization rules`, async (t) => {
    const idp = await startIdp({ mode });
    t.teardown(() => idp.close());
    const upstream = await startUpstream();
    t.teardown(() => upstream.close());
    idp.setUser('admin', {
      email: 'Admin@Example.com',
      roles: ['App.Admin', 'App.User'],
      groups: ['g-staff'],
    });
    idp.setUser('user', { email: 'user@example.com', roles: ['App.User'], groups: ['g-staff'] });
    idp.setUser('outsider', { email: 'out@example.com', roles: ['App.User'], groups: ['g-staff'] });
    idp.setUser('nogroups', { email: 'nog@example.com', roles: ['App.User'] });
    idp.setUser('noroles', { email: 'nor@example.com', groups: ['g-staff'] });

    const browsers: Browser[] = [];
    t.teardown(() => Promise.all(browsers.map((b) => b.close())));
    const as = async (app: TestApp, login: string) => {
      const b = new Browser({ ca: idp.caPem });
      browsers.push(b);
      const landing = await signIn(b, `${app.url}/.auth/login`, { login });
      return { b, landing: landing.status };
    };
    /** Status of a navigation and of an XHR to path; a 403 is an HTML page and a JSON body respectively. */
    const statusOf = async (t: Tap, app: TestApp, b: Browser, path: string) => {
      const nav = await b.navigate(`${app.url}${path}`);
      const xhr = await b.fetch(`${app.url}${path}`, {
        headers: { accept: 'application/json', 'sec-fetch-mode': 'cors' },
      });
      const body = await xhr.text();
      t.equal(nav.status, xhr.status, `${path}: navigation and XHR agree`);
      if (nav.status === 403) {
        t.match(nav.response.headers.get('content-type'), /text\/html/, `${path}: an HTML page`);
        t.match(JSON.parse(body), { error: 'forbidden' }, `${path}: JSON for XHR`);
      }
      return nav.status;
    };

    const aw = await startApp({
      idp,
      upstreamUrl: upstream.url,
      overrides: {
        authorization: {
          allowedUsers: ['ADMIN@example.com', 'user@EXAMPLE.com', 'nog@example.com', 'nor@example.com'],
          paths: [
            { prefix: '/admin', requiredRoles: ['App.Admin'] },
            { prefix: '/staff/', requiredGroups: ['g-staff'] },
            { prefix: '/reports', requiredRoles: ['App.User'] },
          ],
        },
      },
    });
    t.teardown(() => aw.close());

    await t.test(
      'a role rule on /admin: allowed for the role, denied for others in any spelling',
      async (t) => {
        const admin = await as(aw, 'admin');
        t.equal(admin.landing, 200, 'admin lands on /');
        for (const p of ['/admin', '/admin/', '/admin/settings', '/ADMIN/x']) {
          t.equal(await statusOf(t, aw, admin.b, p), 200, `admin: ${p}`);
        }
        const user = await as(aw, 'user');
        t.equal(user.landing, 200, 'user lands on /');
        for (const p of [
          '/admin',
          '/admin/',
          '/admin/settings',
          '/ADMIN',
          '/Admin/settings',
          '/%61dmin',
          '/admin;x=1',
        ]) {
          t.equal(await statusOf(t, aw, user.b, p), 403, `user: ${p} denied`);
        }
        t.equal(
          await statusOf(t, aw, user.b, '/administrator'),
          200,
          'a sibling of the prefix is not under it',
        );
        t.equal(await statusOf(t, aw, user.b, '/reports/q1'), 200, 'another path rule the user meets');
      },
    );

    await t.test('allowedUsers: case-insensitive email; anyone else is denied everywhere', async (t) => {
      const outsider = await as(aw, 'outsider');
      t.equal(outsider.landing, 403, 'signed in, but not an allowed user');
      t.equal(await statusOf(t, aw, outsider.b, '/anything'), 403);
      const me = await outsider.b.fetch(`${aw.url}/.auth/me`);
      t.equal(me.status, 200, 'still signed in (authward answers who they are)');
    });

    await t.test('a rule naming a claim the user lacks denies', async (t) => {
      const nogroups = await as(aw, 'nogroups');
      t.equal(nogroups.landing, 200);
      t.equal(await statusOf(t, aw, nogroups.b, '/staff/list'), 403, 'no groups claim: denied');
      const noroles = await as(aw, 'noroles');
      t.equal(await statusOf(t, aw, noroles.b, '/staff/list'), 200, 'control: in the group');
      t.equal(await statusOf(t, aw, noroles.b, '/reports'), 403, 'no roles claim: denied');
      t.equal(await statusOf(t, aw, noroles.b, '/admin'), 403);
    });

    await t.test('requiredGroups and requiredRoles as global rules', async (t) => {
      const strict = await startApp({
        idp,
        upstreamUrl: upstream.url,
        overrides: {
          authorization: { requiredGroups: ['g-staff'], requiredRoles: ['App.Admin', 'App.Owner'] },
        },
      });
      t.teardown(() => strict.close());
      t.equal((await as(strict, 'admin')).landing, 200, 'group and one of the roles');
      t.equal((await as(strict, 'user')).landing, 403, 'group but no listed role');
      t.equal((await as(strict, 'nogroups')).landing, 403, 'no groups claim');
    });

    await t.test('allowedTenants: only the listed tenant (a token without tid is denied)', async (t) => {
      const own = await startApp({
        idp,
        upstreamUrl: upstream.url,
        overrides: { authorization: { allowedTenants: [idp.tenantId.toUpperCase()] } },
      });
      t.teardown(() => own.close());
      const other = await startApp({
        idp,
        upstreamUrl: upstream.url,
        overrides: { authorization: { allowedTenants: ['72f988bf-86f1-41af-91ab-2d7cd011db47'] } },
      });
      t.teardown(() => other.close());
      t.equal(
        (await as(own, 'user')).landing,
        mode === 'aad' ? 200 : 403,
        mode === 'aad' ? 'own tenant (any case): allowed' : 'oidc: no tid claim, denied',
      );
      const denied = await as(other, 'user');
      t.equal(denied.landing, 403, 'another tenant: denied');
      t.equal(await statusOf(t, other, denied.b, '/x'), 403);
    });

    const adminId = mode === 'aad' ? idp.oidFor('admin') : 'admin';
    const underAdmin = upstream.requests.filter((r) => /^\/(%61|a)dmin([/;?]|$)/i.test(r.url));
    t.ok(underAdmin.length > 0, 'the admin reached /admin');
    t.ok(
      underAdmin.every((r) => r.headers['x-forwarded-user'] === adminId),
      'nobody but the admin ever reached /admin upstream',
    );
  });
}

type Tap = import('tap').Test;
