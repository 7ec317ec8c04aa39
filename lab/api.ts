// A real downstream API: verifies every bearer token it receives (JWKS signature, iss, aud, scope, expiry).
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
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

// GET /download?bytes=N streams N bytes of this 64 KiB pattern (byte k = 31k + 7 mod 256).
const PATTERN = Buffer.from(Array.from({ length: 64 * 1024 }, (_, k) => (k * 31 + 7) & 0xff));

/** The bytes `GET /download?bytes=n` sends, hashed: hex SHA-256. */
export function downloadSha256(n: number): string {
  const hash = createHash('sha256');
  for (let sent = 0; sent < n; sent += PATTERN.length)
    hash.update(PATTERN.subarray(0, Math.min(PATTERN.length, n - sent)));
  return hash.digest('hex');
}

export interface StartApiOptions {
  audience: string;
  scope?: string;
  /** Serve HTTPS with this certificate (e.g. from lab/tls.ts). */
  tls?: { cert: string; key: string };
}

/**
 * Starts an API for `audience` that requires `scope` in the token's scope/scp claim. Besides the JSON
 * answer: `/redirect` answers 302 elsewhere; `/download?bytes=N&holdMs=M` streams N bytes, pausing M ms
 * after the first 64 KiB (so a test can see the first bytes arrive before the last are written).
 */
export async function startApi(idp: TestIdp, opts: StartApiOptions): Promise<TestApi> {
  const jwks = createRemoteJWKSet(new URL(idp.jwksUri), {
    [customFetch]: (url: string, init: RequestInit) => idp.fetch(url, { method: init.method ?? 'GET' }),
  });
  const requests: ApiRequest[] = [];
  let challenges: { claims: string; left: number } | undefined;

  const handler: http.RequestListener = async (req, res) => {
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
    const url = new URL(req.url ?? '/', 'http://api.invalid');
    if (url.pathname.endsWith('/download')) {
      await download(
        res,
        Number(url.searchParams.get('bytes') ?? 0),
        Number(url.searchParams.get('holdMs') ?? 0),
      );
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
  };
  const server = opts.tls ? https.createServer(opts.tls, handler) : http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
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

async function download(res: http.ServerResponse, total: number, holdMs: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/octet-stream' }); // chunked: no length known upfront
  for (let sent = 0; sent < total && !res.destroyed; sent += PATTERN.length) {
    const more = res.write(PATTERN.subarray(0, Math.min(PATTERN.length, total - sent)));
    if (sent === 0 && holdMs > 0) await new Promise((r) => setTimeout(r, holdMs));
    else if (!more && !(await drained(res))) return;
  }
  res.end();
}

/** Waits for 'drain'; false when the client went away instead. */
function drained(res: http.ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve(true);
    };
    const onClose = () => {
      res.off('drain', onDrain);
      resolve(false);
    };
    res.once('drain', onDrain).once('close', onClose);
  });
}
