// An ingress overwrites only the identity headers its config names: a client's copy of any other member
// of an identity family (X-MS-CLIENT-PRINCIPAL-GROUPS, X-MS-TOKEN-AAD-ID-TOKEN, X-Auth-Request-*, ...)
// would reach the backend. verify cannot strip it, so it refuses the request (403), by family, in any
// case or `_` spelling, public path or not; the headers an ingress itself adds are not refused.
import t from 'tap';
import { signIn } from '../helpers/browser.js';
import { forwardAuthSetup, get } from './harness.js';

for (const server of ['nginx', 'caddy'] as const) {
  t.test(`${server}: a client's identity-family header is refused, never forwarded`, async (t) => {
    const s = await forwardAuthSetup(t, server);
    const page = await signIn(s.browser, `${s.front.url}/home`, { login: 'alice' });
    t.equal(page.status, 200, 'signed in');
    const forged: [string, string][] = [
      ['x-ms-client-principal-groups', 'admins'],
      ['X-MS-TOKEN-AAD-ID-TOKEN', 'forged'],
      ['x-auth-request-user', 'root'],
    ];
    for (const [name, value] of forged) {
      s.backend.reset();
      const res = await s.browser.navigate(`${s.front.url}/other`, { headers: { [name]: value } });
      t.equal(res.status, 403, `${name}: refused`);
      t.equal(s.backend.requests.length, 0, `${name}: the backend never saw it`);
    }
    // A name the ingress config itself copies: nginx sends the client's copy on (refused), caddy's
    // snippet deletes it first (then the backend gets authward's value).
    const named = await s.browser.navigate(`${s.front.url}/other`, {
      headers: { 'x-forwarded-user': 'mallory' },
    });
    t.equal(named.status, server === 'nginx' ? 403 : 200, 'a name the snippet copies');
    if (server === 'caddy') t.equal(s.backend.lastRequest?.headers['x-forwarded-user'], 'alice');
    s.backend.reset();
    const pub = await fetch(`${s.front.url}/public/readme`, {
      headers: { 'x-ms-client-principal-groups': 'admins' },
      redirect: 'manual',
    });
    await pub.arrayBuffer();
    t.equal(pub.status, 403, 'a public path too: its backend would get the header as well');
    t.equal(s.backend.requests.length, 0);
    const clean = await s.browser.navigate(`${s.front.url}/other`);
    t.equal(clean.status, 200, 'the same session without the header passes');
    t.equal(s.backend.lastRequest?.headers['x-forwarded-user'], 'alice');
  });
}

t.test(
  'straight from the ingress: underscore spelling refused, the headers ingresses add are not',
  async (t) => {
    const s = await forwardAuthSetup(t, 'nginx');
    const verify = `${s.authward}/.auth/verify`;
    const base = { accept: 'application/json', 'x-original-uri': '/public/free', 'x-original-method': 'GET' };
    const ok = await get(verify, {
      ...base,
      'x-forwarded-for': '10.0.0.1',
      'x-forwarded-proto': 'https',
      'x-auth-request-redirect': 'https://app.example/x', // ingress-nginx sets it on every auth request
    });
    t.equal(ok.status, 200, 'forwarding headers and ingress-nginx X-Auth-Request-Redirect pass');
    const under = await get(verify, { ...base, x_ms_client_principal_id: 'mallory' });
    t.equal(under.status, 403, 'X_MS_CLIENT_PRINCIPAL_ID (a backend may read _ as -): refused');
    t.match(JSON.parse(under.body), { error: 'forbidden' }, 'the JSON error shape');
    t.match(under.body, /x_ms_client_principal_id/i, 'naming the header (not its value)');
    t.notMatch(under.body, /mallory/);
  },
);
