// API clients (issue 14) in the bench: the IdP issues tokens for the app's own API and serves the
// on-behalf-of / token-exchange grants (lab/idp-grants.ts, as test/api-clients/ has it), and a user gets
// an access token for OWN_API through a real sign-in (authorization code + PKCE, the IdP's login page).
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Browser, signIn } from '../../lab/browser.js';
import { startIdp, type TestIdp } from '../../lab/idp.js';
import { type ApiGrants, apiGrants } from '../../lab/idp-grants.js';
import { API_SCOPE, OWN_API, OWN_SCOPE } from './authward.js';

/** The bench IdP: the route API's scope, the app's own API, and the grants an API-client route needs. */
export async function startBenchIdp(): Promise<{ idp: TestIdp; grants: ApiGrants }> {
  const grants = apiGrants({ assertionAudiences: [OWN_API] });
  const idp = await startIdp({ apiScopes: [API_SCOPE, OWN_SCOPE], extend: grants.extend });
  return { idp, grants };
}

/** A user's access token for OWN_API, as a SPA or script with its own sign-in would hold one. */
export async function userAccessToken(idp: TestIdp, login: string): Promise<string> {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/callback`;
  const browser = new Browser({ ca: idp.caPem });
  const { clientId, clientSecret } = idp.clients.secret;
  try {
    const verifier = randomBytes(32).toString('base64url');
    const authorize = new URL(idp.discovery.authorization_endpoint);
    authorize.search = new URLSearchParams({
      client_id: clientId,
      response_type: 'code',
      redirect_uri: redirectUri,
      scope: `openid ${OWN_SCOPE}`,
      state: randomBytes(8).toString('hex'),
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    const page = await signIn(browser, authorize.href, { login });
    const code = new URL(page.url).searchParams.get('code');
    if (!code) throw new Error(`user token for ${login}: no code (ended on ${page.url})`);
    const res = await idp.fetch(idp.discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
        client_id: clientId,
        client_secret: clientSecret,
      }).toString(),
    });
    const body = (await res.json()) as { access_token?: string; error?: string };
    if (!body.access_token) throw new Error(`user token for ${login}: ${res.status} ${body.error ?? ''}`);
    return body.access_token;
  } finally {
    await browser.close();
    server.closeAllConnections();
    server.close();
  }
}
