// A real downstream API: verifies every bearer token it receives (JWKS signature, iss, aud, scope, expiry).
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, customFetch, type JWTPayload, jwtVerify } from 'jose';
import type { TestIdp } from './idp.js';

export interface ApiRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** Verified claims, or the reason the token was refused. */
  claims?: JWTPayload;
  refused?: string;
  bodyLength: number;
  bodySha256: string;
}

export interface TestApi {
  url: string;
  requests: ApiRequest[];
  /** Answer the next N requests with a Conditional Access claims challenge (401 insufficient_claims). */
  challengeNext(claimsJson: string, count?: number): void;
  close(): Promise<void>;
}

/** Starts an API for `audience` that requires `scope` in the token's scope/scp claim. */
export async function startApi(idp: TestIdp, opts: { audience: string; scope?: string }): Promise<TestApi> {
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri), {
    [customFetch]: (url: string, init: RequestInit) => idp.fetch(url, { method: init.method ?? 'GET' }),
  });
  const requests: ApiRequest[] = [];
  let challenges: { claims: string; left: number } | undefined;

  const server = http.createServer(async (req, res) => {
    const hash = createHash('sha256');
    let bodyLength = 0;
    for await (const chunk of req) {
      hash.update(chunk as Buffer);
      bodyLength += (chunk as Buffer).length;
    }
    const record: ApiRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyLength,
      bodySha256: hash.digest('hex'),
    };
    requests.push(record);
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer (.+)$/.exec(auth)?.[1];
    try {
      if (!token) throw new Error('no bearer token');
      const { payload } = await jwtVerify(token, jwks, { issuer: idp.issuer, audience: opts.audience });
      const scopes = String(payload.scope ?? payload.scp ?? '').split(' ');
      if (opts.scope && !scopes.includes(opts.scope)) throw new Error(`scope ${opts.scope} missing`);
      record.claims = payload;
    } catch (err) {
      record.refused = (err as Error).message;
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': 'Bearer error="invalid_token"',
      });
      res.end(JSON.stringify({ error: 'invalid_token', reason: record.refused }));
      return;
    }
    if (challenges && challenges.left > 0) {
      challenges.left--;
      const claims = Buffer.from(challenges.claims).toString('base64');
      res.writeHead(401, {
        'www-authenticate': `Bearer realm="", error="insufficient_claims", claims="${claims}"`,
        'content-type': 'application/json',
      });
      res.end('{"error":"insufficient_claims"}');
      return;
    }
    if (req.url?.includes('/redirect')) {
      res.writeHead(302, { location: 'https://elsewhere.invalid/steal' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        url: req.url,
        sub: record.claims?.sub,
        aud: record.claims?.aud,
        bodyLength,
        bodySha256: record.bodySha256,
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    challengeNext: (claims, count = 1) => {
      challenges = { claims, left: count };
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
