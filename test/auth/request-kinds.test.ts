// Requests without a session: browser navigations go to the provider, everything else gets 401 JSON, never a redirect.
import { connect } from 'node:net';
import t from 'tap';
import { request } from 'undici';
import { Browser, signIn } from '../helpers/browser.js';
import { startWorld } from '../helpers/world.js';

const NAVIGATE = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
  'sec-fetch-site': 'none',
};

/** Sends a raw WebSocket upgrade and resolves with the response status (the socket is then closed). */
function upgrade(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let head = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('upgrade: no answer')));
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      const line = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (line) {
        socket.destroy();
        resolve(Number(line[1]));
      }
    });
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra.join('')}\r\n`,
    );
  });
}

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: what a request without a session gets`, async (t) => {
    const aw = await startWorld(t, { idp: { mode } });
    const { idp, upstream } = aw;
    const port = Number(new URL(aw.url).port);

    const expectSignInRedirect = async (method: 'GET' | 'HEAD', headers: Record<string, string>) => {
      const res = await request(`${aw.url}/deep/page?q=1`, { method, headers });
      await res.body.dump();
      t.equal(res.statusCode, 302, `${method} ${JSON.stringify(headers)} redirects`);
      const location = new URL(String(res.headers.location));
      t.equal(`${location.origin}${location.pathname}`, idp.discovery.authorization_endpoint);
      const q = location.searchParams;
      t.equal(q.get('response_type'), 'code');
      t.equal(q.get('client_id'), idp.clients.secret.clientId);
      t.equal(q.get('redirect_uri'), `${aw.url}/.auth/login/aad/callback`);
      t.equal(q.get('code_challenge_method'), 'S256');
      t.match(q.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/);
      t.match(q.get('state'), /^[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{32}$/);
      t.match(q.get('nonce'), /^[A-Za-z0-9_-]{32}$/);
      const cookies = [res.headers['set-cookie'] ?? []].flat();
      t.ok(
        cookies.some((c) => c.startsWith('authward-tx-')),
        'a login transaction cookie binds the callback to this browser',
      );
      return q;
    };

    const expect401 = async (method: string, headers: Record<string, string>, path = '/api/data?x=1') => {
      const res = await request(`${aw.url}${path}`, {
        method: method as 'GET',
        headers,
        ...(method === 'POST' ? { body: '{}' } : {}),
      });
      t.equal(res.statusCode, 401, `${method} ${JSON.stringify(headers)} gets 401`);
      t.equal(res.headers.location, undefined, 'never a redirect');
      const body = (await res.body.json()) as Record<string, unknown>;
      t.equal(body.error, 'unauthenticated');
      t.equal(
        body.loginUrl,
        `/.auth/login?post_login_redirect_uri=${encodeURIComponent(path)}`,
        'JSON names the URL that signs in and comes back',
      );
      t.type(body.requestId, 'string');
      return body;
    };

    await t.test('navigations redirect to the provider', async () => {
      const a = await expectSignInRedirect('GET', NAVIGATE);
      await expectSignInRedirect('HEAD', NAVIGATE);
      // An older browser: no Fetch Metadata, but it asks for HTML.
      const b = await expectSignInRedirect('GET', { accept: 'text/html' });
      t.not(a.get('state'), b.get('state'), 'a fresh state per attempt');
      t.not(a.get('nonce'), b.get('nonce'), 'a fresh nonce per attempt');
      t.not(a.get('code_challenge'), b.get('code_challenge'), 'a fresh PKCE verifier per attempt');
    });

    await t.test('XHR, fetch, POST and header-less requests get 401 JSON', async () => {
      await expect401('GET', { accept: 'application/json', 'sec-fetch-mode': 'cors' });
      // fetch() asking for HTML is still not a navigation.
      await expect401('GET', { accept: 'text/html', 'sec-fetch-mode': 'cors' });
      await expect401('GET', {});
      await expect401('GET', { accept: '*/*' });
      await expect401('POST', { accept: 'application/json', 'content-type': 'application/json' });
      await expect401('DELETE', { accept: 'application/json' });
      // A navigation that is a POST (a form): 401 too, never a redirect that would drop the body.
      const form = await request(`${aw.url}/form`, {
        method: 'POST',
        headers: { ...NAVIGATE, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1',
      });
      await form.body.dump();
      t.equal(form.statusCode, 401, 'a POST navigation gets 401');
      t.equal(form.headers.location, undefined);
    });

    await t.test('a WebSocket upgrade without a session is refused', async () => {
      t.equal(await upgrade(port, '/ws'), 401, 'no Fetch Metadata');
      t.equal(await upgrade(port, '/ws', { 'Sec-Fetch-Mode': 'websocket', Origin: aw.url }), 401);
      t.equal(await upgrade(port, '/ws', { Cookie: 'authward=garbage;garbage' }), 401, 'a bad cookie');
      t.not(await upgrade(port, '/ws', { Accept: 'text/html' }), 101, 'an HTML-accepting upgrade');
    });

    t.equal(upstream.requests.length, 0, 'the upstream saw none of it');

    await t.test(
      'loginUrl from a 401 signs in and returns to the API path; then the upgrade works',
      async () => {
        const { loginUrl } = await expect401('GET', { accept: 'application/json' }, '/api/items?page=2');
        const browser = new Browser({ ca: idp.caPem });
        t.teardown(() => browser.close());
        const page = await signIn(browser, `${aw.url}${loginUrl}`, { login: 'alice' });
        t.equal(page.status, 200);
        t.equal(page.url, `${aw.url}/api/items?page=2`);
        const cookie = browser.cookieHeader(`${aw.url}/ws`) ?? '';
        t.equal(await upgrade(port, '/ws', { Cookie: cookie }), 101, 'control: with a session, 101');
      },
    );
  });
}
