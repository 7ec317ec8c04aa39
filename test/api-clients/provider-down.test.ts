// The provider down while an API client calls: its keys (or its introspection endpoint) cannot be
// fetched, so nobody can vouch for the token. The answer is 503 (a dependency is down, try again), not
// 401 (which tells a client to throw its valid token away), and the same token is let in once the
// provider answers again.
import t from 'tap';
import { apiWorld, call, userToken } from './harness.js';

t.test('signing keys unreachable: 503, then 200 once the provider is back', async (t) => {
  const w = await apiWorld(t, 'oidc');
  const token = await userToken(w.idp, 'erin');
  await w.idp.stop(); // before the first bearer call: the app has never fetched the keys
  const down = await call(`${w.aw.url}/hello`, token);
  t.equal(down.status, 503, 'keys unreachable: 503');
  t.notMatch(down.headers.get('www-authenticate') ?? '', /invalid_token/, 'the token is not called invalid');
  t.equal(w.upstream.requests.length, 0, 'nothing reached the upstream');
  await w.idp.start();
  const up = await call(`${w.aw.url}/hello`, token);
  t.equal(up.status, 200, 'the provider is back: the same token is let in');
});

t.test('introspection endpoint unreachable: 503, then 200', async (t) => {
  const w = await apiWorld(t, 'oidc', {
    configureIdp: (configuration: Record<string, unknown>) => {
      const features = configuration.features as Record<string, Record<string, unknown>>;
      features.introspection = { enabled: true };
    },
    overrides: { apiClients: { introspection: { enabled: true } } },
  });
  const opaque = 'opaque-token-the-provider-is-asked-about-0123456789';
  await w.idp.stop();
  const down = await call(`${w.aw.url}/hello`, opaque);
  t.equal(down.status, 503, 'introspection unreachable: 503');
  await w.idp.start();
  const back = await call(`${w.aw.url}/hello`, opaque);
  t.equal(back.status, 401, 'the provider answers again: an unknown token is refused as inactive');
});
