// Provider discovery: a provider down at start leaves authward up but unready, saying why; it recovers by itself.
import t from 'tap';
import { request } from 'undici';
import { buildApp } from '../../src/app.js';
import { Browser, signIn } from '../helpers/browser.js';
import { testConfig } from '../helpers/config.js';
import { startIdp, type TestIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, sleep } from '../helpers/world.js';

async function startUnready(t: Tap, idp: TestIdp, upstreamUrl: string, authority = idp.authority) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const config = testConfig({
    listen: { host: '127.0.0.1', port },
    publicUrl: url,
    identity: {
      protocol: idp.mode,
      authority,
      clientId: idp.clients.secret.clientId,
      clientSecret: idp.clients.secret.clientSecret,
      caFile: idp.caFile,
      timeout: 2,
    },
    upstream: { url: upstreamUrl },
    // The page names the app; by default that is publicUrl's host, 127.0.0.1 here like the internals.
    pages: { appName: 'Orders' },
  });
  const { logger, lines } = captureLogger('info');
  const app = await buildApp(config, { logger });
  await app.listen({ host: '127.0.0.1', port });
  t.teardown(() => app.close());
  return { app, url, lines };
}

async function readyz(url: string) {
  const res = await request(`${url}/readyz`);
  return {
    status: res.statusCode,
    body: (await res.body.json()) as {
      status: string;
      waitingFor: string[];
      dependencies: Record<string, { state: string; detail?: string }>;
    },
  };
}

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: provider down at start, up later`, async (t) => {
    const idp = await startIdp({ mode });
    t.teardown(() => idp.close());
    const upstream = await startUpstream();
    t.teardown(() => upstream.close());
    await idp.stop();
    const discoveryUrl =
      mode === 'oidc'
        ? `${idp.issuer}/.well-known/openid-configuration`
        : `${idp.authority}v2.0/.well-known/openid-configuration`;

    const startedAt = Date.now();
    const { url, lines } = await startUnready(t, idp, upstream.url);
    let r = await readyz(url);
    // The first attempt may still be in flight: wait for its verdict (30 s: only a guard against a hang).
    while (r.body.dependencies.provider === undefined && Date.now() - startedAt < 30_000) {
      await sleep(20);
      r = await readyz(url);
    }
    t.equal(r.status, 503, '/readyz: not ready');
    t.equal(r.body.status, 'starting');
    t.same(r.body.waitingFor, ['provider discovery']);
    t.equal(r.body.dependencies.provider?.state, 'down');
    t.equal(r.body.dependencies.provider?.detail, undefined, 'no detail in the public probe');
    const failed = JSON.stringify(lines.filter((l) => l.event === 'discovery_failed'));
    t.match(failed, discoveryUrl, 'the log names the discovery URL');
    t.match(failed, /ECONNREFUSED/, 'and the problem');

    const live = await request(`${url}/healthz`);
    await live.body.dump();
    t.equal(live.statusCode, 200, '/healthz: alive');

    const nav = await request(`${url}/page`, {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
    });
    const navBody = await nav.body.text();
    t.equal(nav.statusCode, 503, 'a sign-in attempt gets 503');
    t.match(navBody, /identity provider unavailable/);
    t.notMatch(navBody, /ECONNREFUSED|127\.0\.0\.1/, 'no internals on the page');
    const login = await request(`${url}/.auth/login`);
    const loginBody = (await login.body.json()) as { error: string };
    t.equal(login.statusCode, 503, '/.auth/login gets 503');
    t.equal(loginBody.error, 'provider_unavailable');
    t.equal(upstream.requests.length, 0, 'nothing was proxied');

    await idp.start();
    const upAt = Date.now();
    // Guard only: the retry in progress may be up to 30 s (the backoff's cap) + identity.timeout away.
    while ((await readyz(url)).status !== 200) {
      if (Date.now() - upAt > 45_000) break;
      await sleep(50);
    }
    r = await readyz(url);
    t.equal(r.status, 200, `ready ${Date.now() - upAt} ms after the provider came back`);
    t.equal(r.body.dependencies.provider?.state, 'up');
    // The backoff's start, as the log reports it (jittered to 0.5-1 s), not a wall-clock margin.
    const firstRetry = lines.find((l) => l.event === 'discovery_failed')?.msg as string | undefined;
    const retryIn = Number(/retrying in ([\d.]+) s/.exec(firstRetry ?? '')?.[1]);
    t.ok(
      retryIn > 0 && retryIn <= 1,
      `the first retry comes quickly: in ${retryIn} s (backoff starts at 1 s)`,
    );

    const b = new Browser({ ca: idp.caPem });
    t.teardown(() => b.close());
    const page = await signIn(b, `${url}/page`, { login: 'alice' });
    t.equal(page.status, 200, 'sign-in works once ready');

    if (mode === 'oidc') {
      await t.test('an issuer that differs from identity.authority is named in the log', async (t) => {
        const authority = idp.issuer.replace('127.0.0.1', 'localhost');
        const wrong = await startUnready(t, idp, upstream.url, authority);
        const since = Date.now();
        let w = await readyz(wrong.url);
        while (w.body.dependencies.provider === undefined && Date.now() - since < 30_000) {
          await sleep(20);
          w = await readyz(wrong.url);
        }
        t.equal(w.status, 503);
        t.equal(w.body.dependencies.provider?.detail, undefined, 'no detail in the public probe');
        const failed = JSON.stringify(wrong.lines.filter((l) => l.event === 'discovery_failed'));
        t.match(failed, `${authority}/.well-known/openid-configuration`, 'the log names it');
        t.match(failed, /differs from identity\.authority/);
      });
    }
  });
}

type Tap = import('tap').Test;
