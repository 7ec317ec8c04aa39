// Issue 17, item 1: a browser on another name for publicUrl's server (localhost for 127.0.0.1, same port)
// is sent to publicUrl before a sign-in starts (the login cookie would be set for the wrong host and the
// callback would fail as "sign-in expired"); anything else that would need a sign-in gets 400 naming both
// hosts. A Host on another port (a forged one, a front proxy's internal name) is left alone: the
// host-header-redirects regression covers it.
import t from 'tap';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { rawRequest, startApp } from '../helpers/world.js';

const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };

t.test('another name for the same server: redirect before sign-in, 400 for XHR', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());

  for (const trustProxy of [false, true]) {
    await t.test(`trustProxy ${trustProxy}`, async (t) => {
      const aw = await startApp({
        idp,
        upstreamUrl: upstream.url,
        overrides: { trustProxy, publicRoutes: [{ path: '/public' }] },
      });
      t.teardown(() => aw.close());
      const port = new URL(aw.url).port;
      const alias = `localhost:${port}`;
      // With trustProxy the browser's host is the forwarded one (the peer here is loopback: trusted).
      const wrong: Record<string, string> = trustProxy
        ? { host: `internal.example:${port}`, 'x-forwarded-host': alias }
        : { host: alias };

      for (const path of ['/deep/page?x=1&y=%2F', '/.auth/login?post_login_redirect_uri=/x']) {
        const res = await rawRequest(aw.url, path, { headers: { ...NAVIGATE, ...wrong } });
        t.equal(res.status, 302, `${path}: 302`);
        t.equal(res.headers.location, `${aw.url}${path}`, `${path}: the same path on publicUrl`);
        t.notOk(res.headers['set-cookie'], `${path}: no sign-in started (no login cookie)`);
      }

      const xhr = await rawRequest(aw.url, '/api/x', {
        headers: { accept: 'application/json', ...wrong },
      });
      t.equal(xhr.status, 400, 'an XHR: 400');
      const body = JSON.parse(xhr.body) as { error: string; message: string; requestId: string };
      t.equal(body.error, 'wrong_host');
      t.match(body.message, alias, 'names the host the browser used');
      t.match(body.message, `127.0.0.1:${port}`, "and publicUrl's");
      t.ok(body.requestId, 'with a request id');

      const post = await rawRequest(aw.url, '/form', {
        method: 'POST',
        headers: { ...NAVIGATE, ...wrong, 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=1',
      });
      t.equal(post.status, 400, 'a POST navigation: 400 (a redirect would lose the body)');
      t.match(post.headers['content-type'], /text\/html/);
      t.match(post.body, new RegExp(`href="${aw.url}/"`), 'the page links to publicUrl');

      const open = await rawRequest(aw.url, '/public', { headers: { ...NAVIGATE, ...wrong } });
      t.equal(open.status, 200, 'a public route needs no sign-in: served as before');
      const probe = await rawRequest(aw.url, '/healthz', { headers: wrong });
      t.equal(probe.status, 200, 'health probes are never redirected');

      const right = await rawRequest(aw.url, '/deep/page', { headers: NAVIGATE });
      t.equal(right.status, 302);
      t.match(right.headers.location, idp.origin, 'on publicUrl: the sign-in starts');
      const otherPort = await rawRequest(aw.url, '/deep/page', {
        headers: { ...NAVIGATE, host: 'localhost:1' },
      });
      t.match(otherPort.headers.location, idp.origin, 'another port: not this server by another name');
    });
  }
});
