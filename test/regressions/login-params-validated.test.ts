// Regression (issue 11, item 4): /.auth/login took `scopes` and `claims` of any kind and length. An
// unknown scope went to the provider and into the login cookie; `claims=notjson` was an anonymous 500
// with an error-level stack trace, and still set a cookie. Now: only configured scopes (identity scopes,
// user-token routes' scopes, upstream.tokens), `claims` a JSON object of at most 1024 characters;
// anything else is a 400 with a short message, no cookie, nothing above info in the log.
import t from 'tap';
import { request } from 'undici';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, waitReady } from '../helpers/world.js';

t.test('/.auth/login accepts only configured scopes and a small JSON claims object', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read', 'api://files/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const { logger, lines } = captureLogger('info');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = testConfig({
    listen: { host: '127.0.0.1', port },
    publicUrl: url,
    identity: {
      protocol: idp.mode,
      authority: idp.authority,
      clientId: idp.clients.secret.clientId,
      clientSecret: idp.clients.secret.clientSecret,
      caFile: idp.caFile,
      routeScopes: 'firstUse',
    },
    upstream: { url: upstream.url, tokens: ['api://files/read'] },
    routes: [
      { name: 'orders', path: '/orders', target: upstream.url, scopes: ['api://orders/read'] },
      {
        name: 'billing',
        path: '/billing',
        target: upstream.url,
        scopes: ['api://billing/.default'],
        token: 'app',
      },
    ],
    logging: { level: 'info' },
  });
  const app = await buildApp(config, { logger });
  await app.listen({ host: '127.0.0.1', port });
  t.teardown(() => app.close());
  await waitReady(app);
  const startup = lines.length; // (start-up warnings are not this test's business)

  const login = async (query: Record<string, string | string[]>, html = false) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) for (const one of [v].flat()) params.append(k, one);
    const res = await request(`${url}/.auth/login?${params}`, {
      headers: html ? { accept: 'text/html', 'sec-fetch-mode': 'navigate' } : { accept: 'application/json' },
    });
    const body = await res.body.text();
    const cookies = [res.headers['set-cookie'] ?? []].flat();
    return { status: res.statusCode, body, location: String(res.headers.location ?? ''), cookies };
  };
  const claims = (value: string) => JSON.stringify({ access_token: { acrs: { essential: true, value } } });
  const big = claims('c'.repeat(1100));

  const refused: [string, Record<string, string | string[]>][] = [
    ['claims that are not JSON', { claims: 'notjson' }],
    ['claims cut short', { claims: '{"access_token":' }],
    ['claims: a JSON array', { claims: '[1,2]' }],
    ['claims: a JSON string', { claims: '"x"' }],
    ['claims: null', { claims: 'null' }],
    ['claims: a number', { claims: '42' }],
    [`claims of ${big.length} characters`, { claims: big }],
    ['claims given twice', { claims: [claims('c1'), claims('c2')] }],
    ['an unknown scope', { scopes: 'api://unknown/read' }],
    ['an unknown scope next to a configured one', { scopes: 'api://orders/read api://unknown/read' }],
    ["an app-token route's scope (not delegated)", { scopes: 'api://billing/.default' }],
    ['600 characters of scopes', { scopes: `${'x'.repeat(599)} ` }],
    ['scopes given twice', { scopes: ['api://orders/read', 'api://files/read'] }],
  ];
  for (const [what, query] of refused) {
    for (const html of [false, true]) {
      const res = await login({ post_login_redirect_uri: '/x', ...query }, html);
      const how = `${what} (${html ? 'browser' : 'API'})`;
      t.equal(res.status, 400, `${how}: 400`);
      t.notOk(res.location, `${how}: no redirect`);
      t.same(
        res.cookies.filter((c) => c.includes('-tx')),
        [],
        `${how}: no login cookie`,
      );
      t.ok(res.body.length < 2000, `${how}: a short answer (${res.body.length} bytes)`);
      t.notMatch(res.body, /at [\w.<>]+ \(|\.ts:\d+|node_modules/, `${how}: no stack trace`);
      if (!html && res.status === 400)
        t.match(JSON.parse(res.body), { error: 'bad_request' }, `${how}: bad_request`);
    }
  }
  const loud = lines.slice(startup).filter((l) => (l.level as number) >= 40);
  t.same(
    loud.map((l) => l.msg),
    [],
    'nothing logged above info (no error-level stack trace)',
  );
  t.notOk(
    lines.some((l) => JSON.stringify(l).includes('notjson')),
    'the refused value is not logged',
  );

  // Configured scopes and a well-formed claims request still start a sign-in.
  const accepted: [string, Record<string, string>, (u: URL) => void][] = [
    ['no parameters', {}, () => {}],
    ["a user route's scope", { scopes: 'api://orders/read' }, () => {}],
    ['upstream.tokens', { scopes: 'api://files/read' }, () => {}],
    ['identity scopes', { scopes: 'openid profile' }, () => {}],
    [
      'a claims challenge (with a route scope)',
      { scopes: 'api://orders/read', claims: claims('c1') },
      (u) =>
        t.match(JSON.parse(u.searchParams.get('claims') ?? '{}'), JSON.parse(claims('c1')), 'claims sent on'),
    ],
  ];
  for (const [what, query, check] of accepted) {
    const res = await login({ post_login_redirect_uri: '/x', ...query }, true);
    t.equal(res.status, 302, `${what}: 302`);
    const to = new URL(res.location);
    t.equal(`${to.origin}${to.pathname}`, idp.discovery.authorization_endpoint, `${what}: to the provider`);
    t.ok(
      res.cookies.some((c) => c.includes('-tx')),
      `${what}: a login cookie`,
    );
    check(to);
  }
});
