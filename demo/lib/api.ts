// The sample downstream API: trusts nothing but a bearer token it verifies itself (JWKS signature, iss, aud, scope, exp).
//
// This is what any API behind authward does: authward acquires the user's token for the route's scope
// and sends it as `Authorization: Bearer`; the API never sees a cookie and checks the token like one
// from any other client.
import http, { type ServerResponse } from 'node:http';
import { createRemoteJWKSet, customFetch, type JWTPayload, jwtVerify } from 'jose';
import { Agent, fetch } from 'undici';

export interface ApiOptions {
  host: string;
  port: number;
  issuer: string;
  /** PEM of the CA that signed the provider's certificate. */
  caPem: string;
  audience: string;
  scope: string;
}

export interface DemoApi {
  close(): Promise<void>;
}

export async function startApi(opts: ApiOptions): Promise<DemoApi> {
  const agent = new Agent({ connect: { ca: opts.caPem } });
  const get = (url: string) => fetch(url, { dispatcher: agent, signal: AbortSignal.timeout(5000) });
  const { jwks_uri } = await discover(opts.issuer, get);
  const jwks = createRemoteJWKSet(new URL(jwks_uri), {
    [customFetch]: (url: string) => get(url) as unknown as Promise<Response>,
  });

  const server = http.createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    const token = /^Bearer ([^\s]+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return refuse(res, 401, 'invalid_request', 'no bearer token');
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, jwks, {
        issuer: opts.issuer,
        audience: opts.audience,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      return refuse(res, 401, 'invalid_token', (err as Error).message);
    }
    const scopes = String(claims.scope ?? claims.scp ?? '').split(' ');
    if (!scopes.includes(opts.scope)) return refuse(res, 403, 'insufficient_scope', `needs ${opts.scope}`);
    if (path !== '/hello') return json(res, 404, { error: 'not_found' });
    return json(res, 200, {
      message: `Hello ${claims.sub}, this is the sample API.`,
      verified: {
        subject: claims.sub,
        issuer: claims.iss,
        audience: claims.aud,
        scope: claims.scope ?? claims.scp,
        expiresAt: new Date((claims.exp ?? 0) * 1000).toISOString(),
      },
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.close();
    },
  };
}

/** The provider's discovery document, retried for up to 30 s (under compose the provider may still be starting). */
async function discover(issuer: string, get: (url: string) => ReturnType<typeof fetch>) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await get(`${issuer}/.well-known/openid-configuration`);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      return (await res.json()) as { jwks_uri: string };
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`discovery at ${issuer} failed: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(`${JSON.stringify(body, null, 2)}\n`);
}

function refuse(res: ServerResponse, status: number, error: string, description: string): void {
  res.setHeader('www-authenticate', `Bearer error="${error}"`);
  json(res, status, { error, error_description: description });
}
