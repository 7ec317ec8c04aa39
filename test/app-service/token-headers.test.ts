// App Service's token headers to the upstream, each opt-in: X-MS-TOKEN-AAD-ACCESS-TOKEN (upstream.tokens),
// -ID-TOKEN, -EXPIRES-ON, -REFRESH-TOKEN (upstream.tokenHeaders); none by default; a client's copies of
// all four are stripped; an anonymous request on a public path gets none.
import { decodeJwt } from 'jose';
import t, { type Test } from 'tap';
import { request } from 'undici';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp } from '../helpers/world.js';

const idp = await startIdp();
t.teardown(() => idp.close());
const upstream = await startUpstream();
t.teardown(() => upstream.close());

const NAMES = [
  'x-ms-token-aad-access-token',
  'x-ms-token-aad-id-token',
  'x-ms-token-aad-expires-on',
  'x-ms-token-aad-refresh-token',
];
const forged = Object.fromEntries(NAMES.map((n) => [n, 'forged']));

async function headersSeen(t: Test, overrides: Record<string, unknown>) {
  const app = await startApp({ idp, upstreamUrl: upstream.url, overrides });
  t.teardown(() => app.close());
  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  await signIn(b, `${app.url}/`, { login: 'vic' });
  const res = await b.fetch(`${app.url}/page`, { headers: forged });
  await res.arrayBuffer();
  t.equal(res.status, 200);
  const seen = upstream.lastRequest?.headers ?? {};
  const anon = await request(`${app.url}/public/x`, { headers: forged });
  await anon.body.dump();
  return { seen, anonymous: upstream.lastRequest?.headers ?? {} };
}

t.test('default: none of them, and the client copies are stripped', async (t) => {
  const { seen } = await headersSeen(t, {});
  for (const n of NAMES) t.equal(seen[n], undefined, `no ${n}`);
});

t.test('each opted in: the user’s tokens; nothing for an anonymous request on a public path', async (t) => {
  const { seen, anonymous } = await headersSeen(t, {
    publicRoutes: [{ path: '/public/*' }],
    upstream: {
      tokens: ['api://orders/read'],
      tokenHeaders: { idToken: true, expiresOn: true, refreshToken: true },
    },
  });
  const access = decodeJwt(String(seen['x-ms-token-aad-access-token']));
  t.equal(access.aud, 'api://orders');
  t.equal(decodeJwt(String(seen['x-ms-token-aad-id-token'])).sub, 'vic');
  // (MSAL's expiry is its receipt time + expires_in: the token's exp give or take the second it ticked)
  const expiresOn = Date.parse(String(seen['x-ms-token-aad-expires-on']));
  t.ok(
    Math.abs(expiresOn - (access.exp as number) * 1000) <= 5000,
    'X-MS-TOKEN-AAD-EXPIRES-ON is its expiry',
  );
  const refresh = String(seen['x-ms-token-aad-refresh-token']);
  t.ok(refresh.length > 10 && refresh !== 'forged', 'a refresh token');
  for (const n of NAMES) t.equal(anonymous[n], undefined, `anonymous: no ${n}`);
});

t.test('only the ID token when only it is opted in', async (t) => {
  const { seen } = await headersSeen(t, { upstream: { tokenHeaders: { idToken: true } } });
  t.ok(seen['x-ms-token-aad-id-token']);
  for (const n of NAMES.filter((n) => n !== 'x-ms-token-aad-id-token'))
    t.equal(seen[n], undefined, `no ${n}`);
});
