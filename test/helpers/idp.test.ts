// Proves the test helpers (IdP, browser, TLS) work end to end with MSAL Node, in oidc and aad mode.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AuthenticationResult,
  ConfidentialClientApplication,
  type Configuration,
  CryptoProvider,
  type INetworkModule,
  type NetworkRequestOptions,
  type NetworkResponse,
  type NodeAuthOptions,
} from '@azure/msal-node';
import { createLocalJWKSet, decodeJwt, type JSONWebKeySet, jwtVerify } from 'jose';
import t from 'tap';
import { type Agent, fetch as undiciFetch } from 'undici';
import { Browser, signIn } from './browser.js';
import { type IdpMode, startIdp, type TestIdp } from './idp.js';

const API_SCOPE = 'api://orders/read';

/** MSAL's network module over undici, trusting only the IdP's CA; MSAL wants JSON bodies, errors included. */
function networkClient(dispatcher: Agent): INetworkModule {
  const send = async <T>(
    method: string,
    url: string,
    options?: NetworkRequestOptions,
  ): Promise<NetworkResponse<T>> => {
    const res = await undiciFetch(url, {
      method,
      headers: options?.headers,
      body: options?.body,
      dispatcher,
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      body = { error: 'invalid_response', error_description: text.slice(0, 200) };
    }
    return { headers: Object.fromEntries(res.headers), body: body as T, status: res.status };
  };
  return {
    sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('GET', url, options),
    sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('POST', url, options),
  };
}

function msalConfig(idp: TestIdp, auth: Omit<NodeAuthOptions, 'authority'>): Configuration {
  return {
    auth: {
      ...auth,
      authority: idp.authority,
      knownAuthorities: [idp.host],
      authorityMetadata: JSON.stringify(idp.discovery),
    },
    system: {
      networkClient: networkClient(idp.dispatcher),
      protocolMode: idp.mode === 'aad' ? 'AAD' : 'OIDC',
    },
  };
}

interface Rp {
  url: string;
  cca: ConfidentialClientApplication;
  /** The last successful callback result. */
  last?: AuthenticationResult;
  close(): Promise<void>;
}

/** A tiny relying party: /login -> IdP (PKCE, state, nonce), /callback -> acquireTokenByCode. */
async function startRp(idp: TestIdp, auth: Omit<NodeAuthOptions, 'authority'>): Promise<Rp> {
  const cca = new ConfidentialClientApplication(msalConfig(idp, auth));
  const crypto = new CryptoProvider();
  const pending = new Map<string, { verifier: string; nonce: string }>();
  const rp: Rp = { url: '', cca, close: async () => {} };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', rp.url);
    const redirectUri = `${rp.url}/callback`;
    try {
      if (url.pathname === '/login') {
        const { verifier, challenge } = await crypto.generatePkceCodes();
        const state = crypto.createNewGuid();
        const nonce = crypto.createNewGuid();
        pending.set(state, { verifier, nonce });
        const location = await cca.getAuthCodeUrl({
          scopes: [],
          extraScopesToConsent: [API_SCOPE],
          redirectUri,
          codeChallenge: challenge,
          codeChallengeMethod: 'S256',
          state,
          nonce,
        });
        res.writeHead(302, { location }).end();
        return;
      }
      if (url.pathname === '/callback') {
        const state = url.searchParams.get('state') ?? '';
        const code = url.searchParams.get('code');
        const p = pending.get(state);
        if (!code || !p) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: url.searchParams.get('error') ?? 'no_code_or_state' }));
          return;
        }
        pending.delete(state);
        const result = await cca.acquireTokenByCode(
          { code, scopes: [], redirectUri, codeVerifier: p.verifier, state, nonce: p.nonce },
          { code, state },
        );
        rp.last = result;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ homeAccountId: result.account?.homeAccountId, claims: result.idTokenClaims }),
        );
        return;
      }
      res.writeHead(404).end();
    } catch (err) {
      const e = err as { errorCode?: string; message?: string };
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errorCode: e.errorCode, message: e.message }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  rp.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  rp.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return rp;
}

/** A short assertion message that shows where a sign-in ended only when it went wrong. */
function why(r: { status: number; url: string; body: string; hops: string[] }): string {
  return r.status === 200
    ? 'status 200'
    : `ended at ${r.url}: ${r.body.slice(0, 300)} (hops: ${r.hops.join(' -> ')})`;
}

async function idpJwks(idp: TestIdp) {
  return createLocalJWKSet((await (await idp.fetch(idp.jwksUri)).json()) as JSONWebKeySet);
}

for (const mode of ['oidc', 'aad'] as IdpMode[]) {
  t.test(`${mode} mode`, async (t) => {
    const idp = await startIdp({ mode });
    t.teardown(() => idp.close());
    const groups = Array.from(
      { length: 300 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    idp.setUser('alice', { groups, roles: ['Orders.Reader'], name: 'Alice Example' });

    t.equal(idp.discovery.issuer, idp.issuer, 'discovery issuer is the issuer');
    if (mode === 'aad') {
      t.equal(idp.issuer, `https://127.0.0.1:${idp.port}/${idp.tenantId}/v2.0`);
      t.equal(idp.authority, `https://127.0.0.1:${idp.port}/${idp.tenantId}/`);
      // MSAL's AAD protocol mode fetches {authority}v2.0/.well-known/openid-configuration.
      const res = await idp.fetch(`${idp.authority}v2.0/.well-known/openid-configuration`);
      t.equal(res.status, 200);
      const disco = (await res.json()) as { token_endpoint: string; jwks_uri: string };
      t.ok(disco.token_endpoint.startsWith(`${idp.issuer}/`), 'every endpoint carries the tenant prefix');
      t.ok(disco.jwks_uri.startsWith(`${idp.issuer}/`));
    } else {
      t.equal(idp.issuer, `https://127.0.0.1:${idp.port}`);
      t.equal(idp.authority, idp.issuer);
    }

    t.test('TLS: trusted through the helper only, SAN covers localhost', async (t) => {
      const res = await idp.fetch(`https://localhost:${idp.port}${new URL(idp.jwksUri).pathname}`);
      t.equal(res.status, 200);
      await res.arrayBuffer();
      await t.rejects(undiciFetch(idp.jwksUri), 'the default agent does not trust the test CA');
    });

    const rp = await startRp(idp, {
      clientId: idp.clients.secret.clientId,
      clientSecret: idp.clients.secret.clientSecret,
    });
    t.teardown(() => rp.close());
    const browser = new Browser({ ca: idp.caPem });
    t.teardown(() => browser.close());

    t.test('sign-in through MSAL, ID token claims, silent API token, forced refresh', async (t) => {
      const result = await signIn(browser, `${rp.url}/login`, { login: 'alice' });
      t.equal(result.status, 200, why(result));
      t.ok(result.url.startsWith(`${rp.url}/callback?`), 'ends on the app callback');
      t.ok(
        result.hops.some((h) => h.startsWith(`${idp.issuer}/interaction/`)),
        'went through the IdP interaction pages',
      );
      const last = rp.last;
      if (!last?.account) throw new Error('no MSAL result');
      const claims = last.idTokenClaims as Record<string, unknown>;
      t.equal(claims.sub, 'alice');
      t.equal(claims.name, 'Alice Example');
      t.equal(claims.preferred_username, 'alice@test.invalid');
      t.equal(claims.email, 'alice@test.invalid');
      t.same(claims.groups, groups, '300 groups in the ID token');
      t.same(claims.roles, ['Orders.Reader']);
      if (mode === 'aad') {
        t.equal(claims.tid, idp.tenantId);
        t.equal(claims.oid, idp.oidFor('alice'));
        t.match(claims.oid, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        t.equal(
          last.account.homeAccountId,
          `${idp.oidFor('alice')}.${idp.tenantId}`,
          'homeAccountId = oid.tid',
        );
        t.equal(last.account.tenantId, idp.tenantId);
      } else {
        t.notOk(claims.tid, 'no tenant claim in oidc mode');
      }

      // MSAL does not verify the ID token; prove it is a genuine one.
      const verified = await jwtVerify(last.idToken, await idpJwks(idp), {
        issuer: idp.issuer,
        audience: idp.clients.secret.clientId,
      });
      t.equal(verified.payload.sub, 'alice');

      const silent = await rp.cca.acquireTokenSilent({ account: last.account, scopes: [API_SCOPE] });
      const at = decodeJwt(silent.accessToken);
      t.equal(at.aud, 'api://orders', 'access token audience is the resource');
      t.match(String(at.scope), /api:\/\/orders\/read/);
      await jwtVerify(silent.accessToken, await idpJwks(idp), {
        issuer: idp.issuer,
        audience: 'api://orders',
      });

      idp.resetCounters();
      const refreshed = await rp.cca.acquireTokenSilent({
        account: last.account,
        scopes: [API_SCOPE],
        forceRefresh: true,
      });
      t.equal(idp.counters.refreshToken, 1, 'exactly one refresh_token grant');
      t.equal(idp.counters.tokenErrors, 0);
      t.equal(decodeJwt(refreshed.accessToken).aud, 'api://orders');
      t.not(refreshed.accessToken, silent.accessToken);
    });

    t.test('revokeRefreshTokens makes a forced refresh fail with invalid_grant', async (t) => {
      const account = rp.last?.account;
      if (!account) throw new Error('needs the sign-in subtest');
      t.ok((await idp.revokeRefreshTokens('alice')) >= 1, 'a grant was revoked');
      const err = await rp.cca.acquireTokenSilent({ account, scopes: [API_SCOPE], forceRefresh: true }).then(
        () => undefined,
        (e: unknown) => e,
      );
      t.match(err, { name: 'ServerError', errorCode: 'invalid_grant' });
      // A new sign-in (existing IdP session: consent only) works again.
      const again = await signIn(browser, `${rp.url}/login`, { login: 'alice' });
      t.equal(again.status, 200, why(again));
      t.notOk(
        again.hops.some((h) => /\/interaction\/[^/]+\/login$/.test(h)),
        'no second login: the IdP session survived',
      );
    });

    t.test('tamperNextIdToken: other-key signature does not verify', async (t) => {
      idp.tamperNextIdToken(({ payload }) => ({
        payload: { ...payload, name: 'Mallory' },
        signWith: 'other-key',
      }));
      const res = await signIn(new Browser({ ca: idp.caPem }), `${rp.url}/login`, { login: 'alice' });
      // MSAL accepts it: it checks nonce and state only, never the signature.
      t.equal(res.status, 200, why(res));
      const idToken = rp.last?.idToken ?? '';
      t.equal(decodeJwt(idToken).name, 'Mallory');
      const err = await jwtVerify(idToken, await idpJwks(idp)).then(
        () => undefined,
        (e: unknown) => e,
      );
      t.match(err, { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });

      // The next response is untouched again.
      const clean = await signIn(new Browser({ ca: idp.caPem }), `${rp.url}/login`, { login: 'alice' });
      t.equal(clean.status, 200);
      await jwtVerify(rp.last?.idToken ?? '', await idpJwks(idp));
    });

    t.test('tamperNextIdToken: a forged nonce signed by the IdP is caught by MSAL', async (t) => {
      idp.tamperNextIdToken(({ payload }) => ({ payload: { ...payload, nonce: 'forged' } }));
      const res = await signIn(new Browser({ ca: idp.caPem }), `${rp.url}/login`, { login: 'bob' });
      t.equal(res.status, 500);
      t.match(JSON.parse(res.body), { errorCode: 'nonce_mismatch' });
    });

    t.test('consent: false cancels at the IdP, the app gets access_denied', async (t) => {
      const res = await signIn(new Browser({ ca: idp.caPem }), `${rp.url}/login`, {
        login: 'carol',
        consent: false,
      });
      t.equal(res.status, 400);
      t.same(JSON.parse(res.body), { error: 'access_denied' });
    });

    t.test(
      'client credentials with certificate (SHA-256 and SHA-1 thumbprints) and client assertion',
      async (t) => {
        const { cert, assertion } = idp.clients;
        for (const thumb of [
          { thumbprintSha256: cert.thumbprintSha256 },
          { thumbprint: cert.thumbprintSha1 },
        ]) {
          const cca = new ConfidentialClientApplication(
            msalConfig(idp, {
              clientId: cert.clientId,
              clientCertificate: { ...thumb, privateKey: cert.keyPem, x5c: cert.certPem },
            }),
          );
          const first = await cca.acquireTokenByClientCredential({ scopes: ['api://orders/.default'] });
          const at = decodeJwt(first?.accessToken ?? '');
          t.equal(at.aud, 'api://orders', `.default -> resource (${Object.keys(thumb)[0]})`);
          t.equal(at.scope, 'api://orders/read', '.default expanded to the resource scopes');
          t.equal(at.client_id, cert.clientId);
          // MSAL reuses its signed certificate assertion for 10 minutes: the IdP must accept the replay.
          const second = await cca.acquireTokenByClientCredential({
            scopes: ['api://orders/.default'],
            skipCache: true,
          });
          t.not(second?.accessToken, first?.accessToken, 'second network call with the same assertion');
        }

        const cca = new ConfidentialClientApplication(
          msalConfig(idp, { clientId: assertion.clientId, clientAssertion: () => assertion.makeAssertion() }),
        );
        const res = await cca.acquireTokenByClientCredential({ scopes: ['api://graph/.default'] });
        const at = decodeJwt(res?.accessToken ?? '');
        t.equal(at.aud, 'api://graph');
        t.equal(at.scope, 'api://graph/user.read');
        if (mode === 'aad') t.equal(at.tid, idp.tenantId);
      },
    );

    t.test('certificate client redeems an authorization code', async (t) => {
      const { cert } = idp.clients;
      const certRp = await startRp(idp, {
        clientId: cert.clientId,
        clientCertificate: { thumbprintSha256: cert.thumbprintSha256, privateKey: cert.keyPem },
      });
      t.teardown(() => certRp.close());
      const res = await signIn(new Browser({ ca: idp.caPem }), `${certRp.url}/login`, { login: 'dave' });
      t.equal(res.status, 200, why(res));
      const claims = certRp.last?.idTokenClaims as Record<string, unknown> | undefined;
      t.equal(claims?.sub, 'dave');
      t.equal(claims?.aud, cert.clientId);
    });

    t.test('stop/start on the same port keeps state', async (t) => {
      const account = rp.last?.account;
      if (!account) throw new Error('needs a signed-in account');
      await idp.stop();
      await t.rejects(idp.fetch(idp.jwksUri), 'refused while stopped');
      await t.rejects(rp.cca.acquireTokenSilent({ account, scopes: [API_SCOPE], forceRefresh: true }));
      await idp.start();
      const res = await idp.fetch(idp.jwksUri);
      t.equal(res.status, 200);
      await res.arrayBuffer();
      const after = await rp.cca.acquireTokenSilent({ account, scopes: [API_SCOPE], forceRefresh: true });
      t.equal(decodeJwt(after.accessToken).aud, 'api://orders', 'grants survived the restart');

      idp.setResponseDelay(150);
      const t0 = Date.now();
      await (await idp.fetch(idp.jwksUri)).arrayBuffer();
      t.ok(Date.now() - t0 >= 140, 'setResponseDelay delays responses');
      idp.setResponseDelay(0);
    });
  });
}

t.test('browser cookie jar', async (t) => {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/set') {
      res.setHeader('set-cookie', [
        'a=1; Path=/',
        'b=2; Path=/app; Max-Age=3600',
        '__Host-s=3; Path=/; Secure; HttpOnly; SameSite=Lax',
        '__Host-bad=4; Path=/app; Secure',
        'strict=5; Path=/; SameSite=Strict',
      ]);
    } else if (url.pathname === '/del') {
      res.setHeader('set-cookie', [
        'a=; Path=/; Max-Age=0',
        'b=; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT',
      ]);
    } else if (url.pathname === '/hdr') {
      res.end(
        `${req.headers['sec-fetch-mode']} ${req.headers['sec-fetch-site']} ${req.headers.accept?.split(',')[0]}`,
      );
      return;
    } else if (url.pathname === '/redirect') {
      res.writeHead(303, { location: '/echo' }).end();
      return;
    }
    res.setHeader('content-type', 'text/plain');
    res.end(req.headers.cookie ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = new Browser();
  t.teardown(() => browser.close());

  await (await browser.fetch(`${origin}/set`)).text();
  t.same(
    browser
      .cookies(origin)
      .map((c) => c.name)
      .sort(),
    ['__Host-s', 'a', 'b', 'strict'],
    'Secure on http loopback kept, bad __Host- dropped',
  );
  t.equal(browser.cookieHeader(`${origin}/echo`), 'a=1; __Host-s=3; strict=5');
  t.equal(browser.cookieHeader(`${origin}/app/x`), 'b=2; a=1; __Host-s=3; strict=5', 'longer path first');
  t.equal(
    browser.cookieHeader(`${origin}/echo`, { crossSite: true, navigation: true }),
    'a=1; __Host-s=3',
    'cross-site navigation: Lax and default cookies only',
  );
  t.equal(browser.cookieHeader(`http://127.0.0.1:1/`), undefined, 'per-origin jar by default');

  const nav = await browser.navigate(`${origin}/redirect`, {
    method: 'POST',
    body: new URLSearchParams({ x: '1' }),
  });
  t.same(nav.hops, [`${origin}/redirect`, `${origin}/echo`], 'POST -> 303 -> GET');
  t.equal(nav.body, 'a=1; __Host-s=3; strict=5');

  const hdr = await browser.navigate(`${origin}/hdr`);
  t.equal(hdr.body, 'navigate none text/html', 'navigation headers (not undici fetch defaults)');

  await (await browser.fetch(`${origin}/del`)).text();
  t.same(
    browser
      .cookies(origin)
      .map((c) => c.name)
      .sort(),
    ['__Host-s', 'strict'],
    'Max-Age=0 and past Expires delete',
  );

  t.ok(browser.setCookie(origin, { name: 'x', value: 'tampered', path: '/' }));
  t.equal(browser.cookie(origin, 'x'), 'tampered');
  browser.deleteCookie(origin, 'x');
  browser.clearCookies(origin);
  t.same(browser.cookies(), []);
  t.notOk(
    new Browser({ cookieScope: 'host' }).setCookie('http://example.test/', 'x=1; Secure'),
    'no Secure over plain http',
  );
});
