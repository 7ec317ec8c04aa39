// Every header authward sets on a forwarded request is one the header rules strip from clients first:
// the identity headers auth/claims.ts builds (every family, every userClaim, a user with every claim)
// and the upstream.tokens header. A new identity header not added to INJECTED_HEADERS fails here.
import { test } from 'tap';
import { type Claims, identityHeaders } from '../../src/auth/claims.js';
import {
  EXPIRES_ON_HEADER,
  ID_TOKEN_HEADER,
  REFRESH_TOKEN_HEADER,
} from '../../src/proxy/app-service-headers.js';
import {
  type ForwardContext,
  forwardHeaders,
  INJECTED_HEADERS,
  isProxyOwned,
} from '../../src/proxy/headers.js';

const everyClaim: Claims = {
  sub: 'sub-1',
  oid: 'oid-1',
  tid: 'tid-1',
  iss: 'https://login.test.invalid/tid-1/v2.0',
  name: 'Ada Lovelace',
  email: 'ada@test.invalid',
  preferred_username: 'ada@test.invalid',
  upn: 'ada@test.invalid',
  groups: ['g1', 'g2'],
  roles: ['r1'],
};

const ctx: ForwardContext = {
  forwardedFor: '192.0.2.1',
  proto: 'https',
  host: 'app.test.invalid',
  requestId: 'req-1',
  ownCookie: () => false,
};

test('every identity header authward sets is in INJECTED_HEADERS and stripped from clients', async (t) => {
  const set = new Set<string>(INJECTED_HEADERS);
  const seen = new Set<string>();
  for (const userClaim of ['id', 'preferred_username', 'email'] as const) {
    const h = identityHeaders(everyClaim, { msClientPrincipal: true, forwarded: true, userClaim }, 'aad');
    for (const name of Object.keys(h)) seen.add(name);
  }
  t.ok(seen.size >= 8, `identity headers produced: ${[...seen].join(', ')}`);
  for (const name of seen) {
    t.ok(set.has(name), `${name} is listed in INJECTED_HEADERS`);
    t.ok(isProxyOwned(name), `${name} is stripped from clients`);
  }
});

test("a client's copy of every injected header never reaches the upstream, in either spelling (Node lower-cases names)", async (t) => {
  const client: Record<string, string> = { 'x-kept': 'yes' };
  for (const name of INJECTED_HEADERS) {
    client[name] = 'forged';
    client[name.replace(/-/g, '_')] = 'forged';
  }
  const out = forwardHeaders(client, ctx);
  t.equal(out['x-kept'], 'yes');
  for (const name of INJECTED_HEADERS) {
    t.equal(out[name], undefined, `${name} stripped`);
    t.equal(out[name.replace(/-/g, '_')], undefined, `${name} (underscore spelling) stripped`);
  }
  const injected = forwardHeaders(client, { ...ctx, inject: { 'x-forwarded-user': 'ada' } });
  t.equal(injected['x-forwarded-user'], 'ada', "authward's own value replaces the client's");
});

test('the App Service token headers (proxy/app-service-headers.ts, upstream.ts) are injected names, stripped from clients', async (t) => {
  const set = new Set<string>(INJECTED_HEADERS);
  const names = [ID_TOKEN_HEADER, EXPIRES_ON_HEADER, REFRESH_TOKEN_HEADER, 'x-ms-token-aad-access-token'];
  for (const name of names) {
    t.ok(set.has(name), `${name} is listed in INJECTED_HEADERS`);
    t.ok(isProxyOwned(name), `${name} is stripped from clients`);
  }
});
