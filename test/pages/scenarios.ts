// Every HTML page authward renders, produced the way a browser meets it (real IdP, real sign-in, real
// outages): shared by the page tests (links, headers) and the Chromium check (screenshots, axe).
import type { IncomingHttpHeaders } from 'node:http';
import type { Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { LOOP_LIMIT } from '../../src/auth/sign-in-loop.js';
import { Browser, CookieDroppingBrowser, signIn } from '../helpers/browser.js';
import { testConfig } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';
import { identityFor, rawRequest, startApp } from '../helpers/world.js';

export interface Captured {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The URL the page was answered at (its links are relative to it). */
  url: string;
}

export interface Scenarios {
  /** publicUrl of the app that rendered the pages (the outage pages come from a second one). */
  url: string;
  down: string;
  pages: Record<string, Captured>;
}

const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
const FORM = { ...NAVIGATE, 'content-type': 'application/x-www-form-urlencoded' };

/** Starts an IdP, an upstream and two authward instances (one with its provider and upstream down). */
export async function collectPages(t: Test, overrides: Record<string, unknown> = {}): Promise<Scenarios> {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: { authorization: { paths: [{ prefix: '/admin', allowedUsers: ['root'] }] }, ...overrides },
  });
  t.teardown(() => aw.close());
  // Nothing listens on `dead`: discovery never succeeds (503 at sign-in), the upstream refuses (502).
  const dead = `127.0.0.1:${await freePort()}`;
  const downPort = await freePort();
  const down = { url: `http://127.0.0.1:${downPort}` };
  const downApp = await buildApp(
    testConfig({
      ...overrides,
      listen: { host: '127.0.0.1', port: downPort },
      publicUrl: down.url,
      identity: identityFor(idp, { authority: `https://${dead}/`, timeout: 2 }),
      upstream: { url: `http://${dead}` },
      publicRoutes: [{ path: '/open/*' }],
    }),
  );
  t.teardown(() => downApp.close());
  await downApp.listen({ host: '127.0.0.1', port: downPort });

  const pages: Record<string, Captured> = {};
  const raw = async (
    name: string,
    base: string,
    path: string,
    opts: Parameters<typeof rawRequest>[2] = {},
  ) => {
    pages[name] = { ...(await rawRequest(base, path, opts)), url: `${base}${path}` };
  };
  const port = new URL(aw.url).port;

  await raw('sign-in-required', aw.url, '/app/form', { method: 'POST', headers: FORM, body: 'a=1' });
  await raw('sign-in-expired', aw.url, '/.auth/login/aad/callback?state=gone&code=x', { headers: NAVIGATE });
  await raw('sign-out-confirm', aw.url, '/.auth/logout', {
    headers: { ...NAVIGATE, 'sec-fetch-site': 'cross-site' },
  });
  await raw('sign-out-refused', aw.url, '/.auth/logout', {
    method: 'POST',
    headers: { ...FORM, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
    body: '',
  });
  await raw('signed-out', aw.url, '/.auth/logout/complete', { headers: NAVIGATE });
  await raw('not-found', aw.url, '/.auth/nothing-here', { headers: NAVIGATE });
  await raw('wrong-host', aw.url, '/app/form', {
    method: 'POST',
    headers: { ...FORM, host: `localhost:${port}` },
    body: 'a=1',
  });
  await raw('provider-unavailable', down.url, '/app', { headers: NAVIGATE });
  await raw('upstream-unavailable', down.url, '/open/page', { headers: NAVIGATE });

  // Pressing Cancel on the provider's consent page: the provider answers access_denied.
  const cancelled = new Browser({ ca: idp.caPem });
  t.teardown(() => cancelled.close());
  const c = await signIn(cancelled, `${aw.url}/app`, { login: 'alice', consent: false });
  pages['sign-in-cancelled'] = { status: c.status, headers: headersOf(c.response), body: c.body, url: c.url };

  // A browser that never keeps its session cookie: after LOOP_LIMIT sign-ins, the loop page (508).
  const dropping = new CookieDroppingBrowser({ ca: idp.caPem });
  t.teardown(() => dropping.close());
  const loop = await signIn(dropping, `${aw.url}/app`, { login: 'alice', maxSteps: 3 * LOOP_LIMIT + 3 });
  pages['sign-in-loop'] = {
    status: loop.status,
    headers: headersOf(loop.response),
    body: loop.body,
    url: loop.url,
  };

  // Signed in, but the authorization rules keep this user out of /admin.
  const alice = new Browser({ ca: idp.caPem });
  t.teardown(() => alice.close());
  await signIn(alice, `${aw.url}/`, { login: 'alice' });
  const admin = await alice.navigate(`${aw.url}/admin/`, { initiator: aw.url });
  pages.forbidden = {
    status: admin.status,
    headers: headersOf(admin.response),
    body: admin.body,
    url: admin.url,
  };

  return { url: aw.url, down: down.url, pages };
}

function headersOf(res: Response): IncomingHttpHeaders {
  return Object.fromEntries(res.headers.entries());
}
