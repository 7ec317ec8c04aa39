// One forward-auth set-up: test IdP, echo backend, an orders API, authward (publicUrl = the front server)
// and nginx or caddy in front, started from docs/forward-auth/ and closed at teardown.
import http from 'node:http';
import type { Test } from 'tap';
import { type ApiGrants, apiGrants } from '../../lab/idp-grants.js';
import { buildApp } from '../../src/app.js';
import { API_CLIENTS, OWN_API, OWN_SCOPE, ROLE } from '../api-clients/harness.js';
import { startApi, type TestApi } from '../helpers/api.js';
import { Browser } from '../helpers/browser.js';
import { testConfig } from '../helpers/config.js';
import { startIdp, type TestIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { createTestTls } from '../helpers/tls.js';
import { startUpstream, type TestUpstream } from '../helpers/upstream.js';
import { identityFor, waitReady } from '../helpers/world.js';
import { type FrontServer, startCaddy, startNginx } from './servers.js';

export const ORDERS_SCOPE = 'api://orders/read';

export interface Setup {
  idp: TestIdp;
  backend: TestUpstream;
  orders: TestApi;
  front: FrontServer;
  /** authward's own address (what the front server proxies to). */
  authward: string;
  browser: Browser;
  /** The IdP's on-behalf-of grants (with `apiClients: true`). */
  grants?: ApiGrants;
}

export async function forwardAuthSetup(
  t: Test,
  server: 'nginx' | 'caddy',
  overrides: Record<string, unknown> = {},
  o: {
    /** The IdP grants on-behalf-of and authward takes API clients' tokens for OWN_API. */
    apiClients?: boolean;
    /**
     * Host names the server answers over https (nginx; a certificate for all of them): publicUrl is the
     * first, and the browser reaches each at 127.0.0.1 (no DNS) with host-scoped cookies (Domain counts).
     */
    hosts?: string[];
  } = {},
): Promise<Setup> {
  const [frontPort, awPort] = [await freePort(), await freePort()];
  const tls = o.hosts ? await createTestTls({ hosts: o.hosts }) : undefined;
  if (tls) t.teardown(() => tls.cleanup());
  const publicUrl = o.hosts ? `https://${o.hosts[0]}:${frontPort}` : `http://127.0.0.1:${frontPort}`;
  const grants = o.apiClients
    ? apiGrants({ assertionAudiences: [OWN_API], appRoles: [ROLE], grants: ['obo'] })
    : undefined;
  const idp = await startIdp({
    mode: o.apiClients ? 'aad' : 'oidc',
    apiScopes: o.apiClients ? [ORDERS_SCOPE, OWN_SCOPE] : [ORDERS_SCOPE],
    ...(grants ? { extend: grants.extend } : {}),
    redirectUris: [`${publicUrl}/.auth/login/aad/callback`], // identity.callbackPath's default
  });
  t.teardown(() => idp.close());
  const backend = await startUpstream();
  t.teardown(() => backend.close());
  const orders = await startApi(idp, { audience: 'api://orders', scope: ORDERS_SCOPE });
  t.teardown(() => orders.close());
  const config = testConfig({
    ...overrides,
    listen: { host: '127.0.0.1', port: awPort },
    publicUrl,
    trustProxy: ['127.0.0.1'],
    // Several hosts: a sign-in may return to each of the others (on the server's port).
    forwardAuth: { enabled: true, allowedHosts: (o.hosts ?? []).slice(1).map((h) => `${h}:${frontPort}`) },
    identity: identityFor(idp),
    upstream: { url: backend.url },
    routes: [
      {
        name: 'orders',
        path: '/api/orders',
        target: `${orders.url}/v1`,
        scopes: [ORDERS_SCOPE],
        forwardAuth: true,
      },
    ],
    publicRoutes: [{ path: '/public/*' }],
    authorization: { paths: [{ prefix: '/admin', allowedUsers: ['root'] }] },
    ...(o.apiClients ? { apiClients: API_CLIENTS } : {}),
  });
  const app = await buildApp(config);
  await app.listen({ host: '127.0.0.1', port: awPort });
  t.teardown(() => app.close());
  await waitReady(app);
  const authward = `http://127.0.0.1:${awPort}`;
  const values = { AUTHWARD: authward, BACKEND: backend.url, ORDERS_API: orders.url };
  const front =
    server === 'nginx' ? await startNginx(values, frontPort, tls) : await startCaddy(values, frontPort);
  t.teardown(() => front.close());
  const browser = new Browser(
    tls && o.hosts
      ? {
          ca: [idp.caPem, tls.caPem],
          hosts: Object.fromEntries(o.hosts.map((h) => [h, '127.0.0.1'])),
          cookieScope: 'host',
        }
      : { ca: idp.caPem },
  );
  t.teardown(() => browser.close());
  return { idp, backend, orders, front, authward, browser, ...(grants ? { grants } : {}) };
}

/**
 * A plain GET (fetch would send its own Sec-Fetch-Mode: cors), optionally from another local address
 * (127.0.0.2 is loopback too, but not the 127.0.0.1 trustProxy lists). Redirects are not followed.
 */
export function get(url: string, headers: Record<string, string>, localAddress?: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const req = http.get(url, { headers, localAddress }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
    },
  );
}

/** The request headers of a browser navigation. */
export const NAVIGATE = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
