// App Service's /.auth/refresh: 200 after a refresh at the provider (one refresh_token grant, even when the
// cached token is fresh); 401 without a session; 401 once the grant is revoked, and the session is over.
import t from 'tap';
import { request } from 'undici';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp } from '../helpers/world.js';

const idp = await startIdp();
t.teardown(() => idp.close());
const upstream = await startUpstream();
t.teardown(() => upstream.close());

for (const tokens of [[], ['api://orders/read']]) {
  t.test(`upstream.tokens ${JSON.stringify(tokens)}`, async (t) => {
    const app = await startApp({ idp, upstreamUrl: upstream.url, overrides: { upstream: { tokens } } });
    t.teardown(() => app.close());
    const b = new Browser({ ca: idp.caPem });
    t.teardown(() => b.close());

    const anonymous = await request(`${app.url}/.auth/refresh`);
    await anonymous.body.dump();
    t.equal(anonymous.statusCode, 401, 'no session: 401');

    await signIn(b, `${app.url}/`, { login: 'rex' });
    const before = idp.counters.refreshToken;
    const ok = await b.fetch(`${app.url}/.auth/refresh`);
    await ok.arrayBuffer();
    t.equal(ok.status, 200, 'refreshed: 200');
    t.match(ok.headers.get('cache-control'), /no-store/);
    t.equal(idp.counters.refreshToken - before, 1, 'one refresh_token grant at the provider');

    await idp.revokeRefreshTokens('rex');
    const gone = await b.fetch(`${app.url}/.auth/refresh`);
    await gone.arrayBuffer();
    t.equal(gone.status, 401, 'grant revoked: 401');
    const me = await b.fetch(`${app.url}/.auth/me`);
    await me.arrayBuffer();
    t.equal(me.status, 401, 'and the session is over');
  });
}
