// Opaque access tokens (RFC 7662): with apiClients.introspection on, the provider is asked and an active
// token for this API is let in like a JWT; with it off, or once the token is revoked, or for a token the
// provider never issued, the answer is 401 invalid_token. The test IdP issues opaque tokens for the app's API.
import t from 'tap';
import { apiWorld, call, opaqueTokens, revoke, userToken } from './harness.js';

t.test('opaque tokens through introspection', async (t) => {
  const w = await apiWorld(t, 'oidc', {
    configureIdp: opaqueTokens,
    overrides: { apiClients: { introspection: { enabled: true } } },
  });
  const token = await userToken(w.idp, 'dora');
  t.equal(token.split('.').length, 1, 'the IdP issued an opaque token, not a JWT');

  const ok = await call(`${w.aw.url}/hello`, token);
  t.equal(ok.status, 200, 'an active opaque token is let in');
  t.equal(
    w.upstream.requests.at(-1)?.headers['x-ms-client-principal-id'],
    'dora',
    "the upstream gets the introspected caller's identity",
  );

  const off = await w.start({ apiClients: { introspection: { enabled: false } } });
  const refused = await call(`${off.url}/hello`, token);
  t.equal(refused.status, 401, 'introspection off: an opaque token is refused');
  t.match(refused.headers.get('www-authenticate') ?? '', /error="invalid_token"/);

  const never = await call(`${w.aw.url}/hello`, 'abcdefghijklmnopqrstuvwxyz0123456789');
  t.equal(never.status, 401, 'a token the provider never issued: inactive, refused');
  t.match(never.headers.get('www-authenticate') ?? '', /error="invalid_token"/);

  const second = await userToken(w.idp, 'dora');
  const revoked = await revoke(w.idp, second);
  t.equal(revoked.status, 200, 'the IdP revoked the second token');
  const afterRevoke = await call(`${w.aw.url}/hello`, second);
  t.equal(afterRevoke.status, 401, 'a revoked opaque token is refused');
  t.match(afterRevoke.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  t.notMatch(w.logs.join('\n'), token, 'the opaque token is in no log line');
});
