// An app-only (client credentials) and a user token, both got with MSAL, reach the default upstream
// unchanged with identity headers from their claims, in aad and oidc modes.
import t from 'tap';
import { apiWorld, appOnlyToken, call, OWN_SCOPE, userToken } from './harness.js';

for (const mode of ['aad', 'oidc'] as const) {
  t.test(`${mode}: app-only and user tokens reach the upstream`, async (t) => {
    const w = await apiWorld(t, mode);
    const app = await appOnlyToken(w.idp);
    const res = await call(`${w.aw.url}/hello`, app);
    t.equal(res.status, 200, await res.clone().text());
    const seen = w.upstream.lastRequest?.headers ?? {};
    t.equal(seen.authorization, `Bearer ${app}`, "the caller's token passes unchanged");
    t.equal(
      seen['x-ms-client-principal-id'],
      w.idp.clients.secret.clientId,
      'the application is the principal',
    );
    const principal = JSON.parse(Buffer.from(String(seen['x-ms-client-principal']), 'base64').toString());
    t.equal(
      principal.auth_typ,
      mode === 'aad' ? 'aad' : new URL(w.idp.authority).host,
      'App Service auth_typ',
    );
    t.ok(
      principal.claims.some(
        (c: { typ: string; val: string }) => c.typ === 'roles' && c.val === 'Orders.Read',
      ),
      'roles in the principal',
    );
    t.equal(res.headers.get('set-cookie'), null, 'no cookie for an API client');

    const user = await userToken(w.idp, 'dora');
    const u = await call(`${w.aw.url}/me?x=1`, user);
    t.equal(u.status, 200);
    const h = w.upstream.lastRequest?.headers ?? {};
    t.equal(h.authorization, `Bearer ${user}`);
    const id = mode === 'aad' ? w.idp.oidFor('dora') : 'dora';
    t.equal(h['x-ms-client-principal-id'], id, 'the user is the principal (oid in aad, sub in oidc)');
    t.equal(h['x-forwarded-user'], id);
    t.ok(OWN_SCOPE);
  });
}
