// Requests as bytes: a raw TCP exchange (what no HTTP client would send) and an HTTP request whose path is not normalised.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

export interface SocketResponse {
  status: number;
  /** Header lines as received: [name, value] with the name lower-cased. */
  headers: [string, string][];
  body: string;
  /** Everything received, verbatim. */
  raw: string;
}

/**
 * Sends `request` byte for byte (use \r\n; add `Connection: close` so the server ends the response)
 * and resolves with what came back once the server closes the connection.
 */
export function rawSocket(port: number, request: string, timeoutMs = 5000): Promise<SocketResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const end = raw.indexOf('\r\n\r\n');
      const [statusLine = '', ...lines] = raw.slice(0, end === -1 ? raw.length : end).split('\r\n');
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers: lines.map((l) => {
          const i = l.indexOf(':');
          return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
        }),
        body: end === -1 ? '' : raw.slice(end + 4),
        raw,
      });
    });
    socket.write(request, 'latin1');
  });
}

/** The body of a raw response with chunked transfer-encoding undone. */
export function dechunk(res: SocketResponse): string {
  if (!res.headers.some(([n, v]) => n === 'transfer-encoding' && v.includes('chunked'))) return res.body;
  let out = '';
  let rest = res.body;
  for (;;) {
    const eol = rest.indexOf('\r\n');
    const size = Number.parseInt(rest.slice(0, eol), 16);
    if (!size) return out;
    out += rest.slice(eol + 2, eol + 2 + size);
    rest = rest.slice(eol + 4 + size);
  }
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with the path sent byte for byte (no URL normalisation of dot segments or slashes). */
export function rawRequest(
  origin: string,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<RawResponse> {
  const u = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        method: opts.method ?? 'GET',
        path,
        headers: {
          ...(opts.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(opts.body)) }),
          ...opts.headers,
        },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The value of a named cookie in a Set-Cookie list. */
export function setCookieValue(setCookies: string[], name: string): string | undefined {
  for (const c of setCookies) {
    const eq = c.indexOf('=');
    if (c.slice(0, eq) === name) return c.slice(eq + 1).split(';', 1)[0];
  }
  return undefined;
}
