// Every token an API must refuse is refused: 401 invalid_token / 403 insufficient_scope (RFC 6750) with
// the JSON body of every refusal, 400 for several Authorization headers or an oversized token; a valid
// token minted the same way passes (so each refusal is about the one thing changed).
import t from 'tap';
import type { MintKey } from '../../lab/idp-grants.js';
import {
  apiWorld,
  appOnlyToken,
  call,
  OWN_API,
  OWN_SCOPE,
  rawGet,
  userTokens,
  withClock,
} from './harness.js';

const OTHER_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
/** identity.clockSkew's default (seconds). */
const SKEW = 120;

for (const mode of ['aad', 'oidc'] as const) {
  t.test(`${mode}: refusal matrix`, async (t) => {
    const w = await apiWorld(t, mode, { overrides: { apiClients: { maxTokenBytes: 4096 } } });
    const now = Math.floor(Date.now() / 1000);
    const base = {
      sub: 'dora',
      aud: OWN_API,
      scope: OWN_SCOPE,
      ...(mode === 'aad' ? { tid: w.idp.tenantId, oid: w.idp.oidFor('dora') } : {}),
    };
    const mint = (claims: Record<string, unknown>, key?: MintKey, header?: Record<string, unknown>) =>
      w.grants.mint({ ...base, ...claims }, { ...(key ? { key } : {}), ...(header ? { header } : {}) });

    const ok = await call(`${w.aw.url}/x`, await mint({}));
    t.equal(ok.status, 200, 'control: a token minted the same way passes');

    const refused: [string, string, number, string][] = [
      ['wrong aud', await mint({ aud: 'api://someone-else' }), 401, 'invalid_token'],
      ['wrong iss', await mint({ iss: 'https://evil.invalid/' }), 401, 'invalid_token'],
      ['expired', await mint({ exp: now - 600, iat: now - 4000 }), 401, 'invalid_token'],
      ['no exp', await mint({ exp: undefined }), 401, 'invalid_token'],
      ['nbf in the future', await mint({ nbf: now + 3600 }), 401, 'invalid_token'],
      ['no sub', await mint({ sub: undefined }), 401, 'invalid_token'],
      ['alg none', await mint({}, 'none'), 401, 'invalid_token'],
      ['HS256 with the public key', await mint({}, 'hs256-public'), 401, 'invalid_token'],
      ['unknown kid', await mint({}, 'idp-key', { kid: 'no-such-key' }), 401, 'invalid_token'],
      ['signed by another key', await mint({}, 'other-key'), 401, 'invalid_token'],
      ['missing scope', await mint({ scope: `${OWN_API}/other` }), 403, 'insufficient_scope'],
      [
        'app-only without an allowed role',
        await mint({ sub: 'svc', client_id: 'svc', roles: ['X'] }),
        403,
        'insufficient_scope',
      ],
      ['opaque garbage', 'kQ3x9Zr7opaqueTokenFromSomewhere', 401, 'invalid_token'],
      ['garbage with dots', 'a.b.c', 401, 'invalid_token'],
    ];
    // Tenants are Entra's (oidc has none: its one issuer is the whole rule, 'wrong iss' above).
    if (mode === 'aad') {
      const iss = w.idp.issuer.replace(w.idp.tenantId, OTHER_TENANT);
      refused.push(['other tenant', await mint({ tid: OTHER_TENANT, iss }), 401, 'invalid_token']);
      refused.push([
        "other tenant's v1 issuer",
        await mint({ tid: OTHER_TENANT, iss: `https://sts.windows.net/${OTHER_TENANT}/` }),
        401,
        'invalid_token',
      ]);
    }
    for (const [what, token, status, error] of refused) {
      const res = await call(`${w.aw.url}/x`, token);
      t.equal(res.status, status, what);
      t.equal(res.headers.get('www-authenticate'), `Bearer error="${error}"`, `${what}: challenge`);
      const body = (await res.json()) as Record<string, unknown>;
      t.equal(body.error, error, `${what}: JSON error`);
      t.type(body.requestId, 'string', `${what}: requestId`);
      t.equal(res.headers.get('location'), null, `${what}: no redirect`);
    }
    t.equal(w.upstream.requests.length, 1, 'only the control request reached the upstream');

    // identity.clockSkew's edges, on an app whose clock stands still at `now` (no race with the wall
    // clock): a second past it is refused, its edge is accepted (the refusals are about the claim).
    const pinned = await withClock(t, w.aw.config, () => now * 1000);
    const edges: [string, string, number][] = [
      ['expired clockSkew + 1 s ago', await mint({ exp: now - SKEW - 1 }), 401],
      ['expired clockSkew - 1 s ago', await mint({ exp: now - SKEW + 1 }), 200],
      ['nbf clockSkew + 1 s ahead', await mint({ nbf: now + SKEW + 1 }), 401],
      ['nbf clockSkew ahead', await mint({ nbf: now + SKEW }), 200],
    ];
    for (const [what, token, status] of edges)
      t.equal((await call(`${pinned}/x`, token)).status, status, what);
    let passed = 3;
    if (mode === 'aad') {
      const v1 = `https://sts.windows.net/${w.idp.tenantId}/`;
      t.equal((await call(`${w.aw.url}/x`, await mint({ iss: v1 }))).status, 200, 'our tenant, v1 issuer');
      passed++;
    }
    t.equal(w.upstream.requests.length, passed, 'those reached the upstream');

    // A real ID token (audience: the client id, accepted by default audiences) is not an access token.
    const idAware = await w.start({ apiClients: { audiences: [w.idp.clients.secret.clientId, OWN_API] } });
    const { idToken } = await userTokens(w.idp, 'erin');
    const id = await call(`${idAware.url}/x`, idToken);
    t.equal(id.status, 401, 'ID token presented as access token');
    t.equal(id.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
    const reason = (line: string) => (JSON.parse(line) as { reason?: string }).reason;
    const refusals = () => w.logs.filter((l) => l.includes('bearer token refused')).map(reason);
    t.match(refusals().at(-1), /ID token|no scope/, 'refused as not an access token (not for its aud)');
    // An ID token minted for this API's audience, with a scope: its nonce still gives it away.
    const idShaped = await mint({ nonce: 'n-0S6_WzA2Mj', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q' });
    const id2 = await call(`${w.aw.url}/x`, idShaped);
    t.equal(id2.status, 401, 'an ID-token-shaped token with a scope');
    t.equal(refusals().at(-1), 'an ID token is not an access token');

    // App-only tokens when not allowed.
    const noApps = await w.start({ apiClients: { allowAppOnly: false, allowedRoles: [] } });
    const app = await call(`${noApps.url}/x`, await appOnlyToken(w.idp));
    t.equal(app.status, 403, 'app-only when not allowed');
    t.equal(app.headers.get('www-authenticate'), 'Bearer error="insufficient_scope"');
    t.equal(refusals().at(-1), 'app-only tokens are not allowed');

    if (mode === 'aad') {
      // A multi-tenant issuer template with identity.allowedTenants: the tenant rule, not the issuer.
      const template = w.idp.issuer.replace(w.idp.tenantId, '{tenantid}');
      const tenants = await w.start({
        identity: { allowedTenants: [w.idp.tenantId] },
        apiClients: { issuers: [template] },
      });
      const ours = await call(`${tenants.url}/x`, await mint({}));
      t.equal(ours.status, 200, 'allowed tenant through the issuer template');
      const iss = w.idp.issuer.replace(w.idp.tenantId, OTHER_TENANT);
      const theirs = await call(`${tenants.url}/x`, await mint({ tid: OTHER_TENANT, iss }));
      t.equal(theirs.status, 401, 'a tenant outside allowedTenants');
      t.equal(theirs.headers.get('www-authenticate'), 'Bearer error="invalid_token"');
      t.match(refusals().at(-1), /tenant .* is not allowed/);
    }

    const token = await mint({});
    const two = await rawGet(`${w.aw.url}/x`, [
      ['accept', 'application/json'],
      ['authorization', `Bearer ${token}`],
      ['authorization', `Bearer ${token}`],
    ]);
    t.equal(two.status, 400, 'two Authorization headers');
    t.match(JSON.parse(two.body), { error: 'bad_request', requestId: String }, 'two headers: JSON body');
    const big = await call(`${w.aw.url}/x`, 'a'.repeat(5000));
    t.equal(big.status, 400, 'a token over maxTokenBytes');
    t.match(await big.json(), { error: 'bad_request', requestId: String }, 'oversized: JSON body');
    const upstreamSeen = w.upstream.requests.length;
    t.equal(upstreamSeen, passed + (mode === 'aad' ? 1 : 0), 'no refused request reached the upstream');
  });
}
