// Introspection answers are trusted for at most apiClients.introspection.cacheSeconds (and never past the
// token's exp): a token revoked at the provider is let in from the cache until that bound, refused once it
// has passed. Time is the app's injected clock (AppDeps.clock), moved by the test: no waiting.
import t from 'tap';
import { apiWorld, call, opaqueTokens, revoke, userToken, withClock } from './harness.js';

t.test('a revoked opaque token is refused once the cache bound has passed', async (t) => {
  const w = await apiWorld(t, 'oidc', {
    configureIdp: opaqueTokens,
    overrides: { apiClients: { introspection: { enabled: true, cacheSeconds: 30 } } },
  });
  let now = Date.now();
  const url = `${await withClock(t, w.aw.config, () => now)}/hello`;

  const token = await userToken(w.idp, 'dora');
  t.equal((await call(url, token)).status, 200, 'an active opaque token is let in');
  t.equal((await revoke(w.idp, token)).status, 200, 'the IdP revoked it');
  t.equal(
    (await call(url, token)).status,
    200,
    'within the bound: the cached answer (the IdP was not asked)',
  );
  now += 29_999;
  t.equal((await call(url, token)).status, 200, 'still within the bound at 29.999 s');
  now += 1;
  const refused = await call(url, token);
  t.equal(refused.status, 401, 'at the bound the IdP is asked again: revoked, refused');
  t.match(refused.headers.get('www-authenticate') ?? '', /error="invalid_token"/);

  // The bound never stretches an answer past the token's exp (+ clockSkew): a day later it is expired.
  const c = w.aw.config;
  const introspection = { ...c.apiClients.introspection, cacheSeconds: 86_400 };
  const late = { ...c, apiClients: { ...c.apiClients, introspection } };
  const lateUrl = `${await withClock(t, late, () => now)}/hello`;
  const second = await userToken(w.idp, 'erin');
  t.equal((await call(lateUrl, second)).status, 200, 'a fresh token is let in (cached up to its exp)');
  now += 86_000_000;
  t.equal((await call(lateUrl, second)).status, 401, "past the token's exp: refused, whatever the bound");
});
