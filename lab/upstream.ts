// A real HTTP(S) + WebSocket echo server standing in for the upstream behind the proxy in tests.
import { createHash } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

const DOWNLOAD_CHUNK = 64 * 1024;

export interface StartUpstreamOptions {
  /** Serve HTTPS with this certificate (e.g. a self-signed one for untrusted-certificate tests). */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  /** True for WebSocket upgrade requests. */
  upgrade: boolean;
  /** Filled in once the body has been read. */
  bodyLength: number;
  bodySha256: string;
  /** Set when the client went away before the response was complete. */
  aborted: boolean;
  /** Settles when the response finished or the client went away. */
  done: Promise<'completed' | 'aborted'>;
}

/** The JSON body of the default echo response. */
export interface EchoBody {
  method: string;
  url: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  bodyLength: number;
  bodySha256: string;
}

export interface TestUpstream {
  /** `http://127.0.0.1:port` (or `https://` with opts.tls). */
  readonly url: string;
  readonly port: number;
  /** Every request seen, in arrival order (WebSocket upgrades included). */
  readonly requests: RecordedRequest[];
  readonly lastRequest: RecordedRequest | undefined;
  /** Forget recorded requests. */
  reset(): void;
  /** Close the server and every open connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Deterministic pseudo-random bytes for /download, generated in 64 KiB chunks.
 * xorshift32 written little-endian, so the stream is the same on every machine and for any chunking.
 */
class DownloadBytes {
  private state = 0x9e3779b9;
  next(length: number): Buffer {
    const words = Math.ceil(length / 4);
    const buf = Buffer.allocUnsafe(words * 4);
    let x = this.state;
    for (let i = 0; i < words; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      buf.writeUInt32LE(x >>> 0, i * 4);
    }
    this.state = x;
    return buf.subarray(0, length);
  }
}

function* downloadChunks(total: number): Generator<Buffer> {
  const gen = new DownloadBytes();
  for (let sent = 0; sent < total; sent += DOWNLOAD_CHUNK) {
    yield gen.next(Math.min(DOWNLOAD_CHUNK, total - sent));
  }
}

/** The hex SHA-256 of what `GET /download?bytes=n` sends. */
export function expectedDownloadSha256(n: number): string {
  const hash = createHash('sha256');
  for (const chunk of downloadChunks(n)) hash.update(chunk);
  return hash.digest('hex');
}

function parseQuery(params: URLSearchParams): Record<string, string | string[]> {
  // Null prototype: a `__proto__` query key is data, not a prototype change.
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [key, value] of params) {
    const seen = query[key];
    if (seen === undefined) query[key] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else query[key] = [seen, value];
  }
  return query;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Resolves false if the response closed (client gone) before `ms` elapsed. */
function waitUnlessClosed(res: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off('close', onClose);
      resolve(true);
    }, ms);
    res.once('close', onClose);
  });
}

/** Waits for 'drain' after a full write buffer; false if the client went away instead. */
function drained(res: ServerResponse): Promise<boolean> {
  return new Promise((resolve) => {
    const onDrain = () => {
      res.off('close', onClose);
      resolve(true);
    };
    const onClose = () => {
      res.off('drain', onDrain);
      resolve(false);
    };
    res.once('drain', onDrain);
    res.once('close', onClose);
  });
}

function intParam(params: URLSearchParams, name: string, fallback: number): number {
  const raw = params.get(name);
  const n = raw === null ? fallback : Number(raw);
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : fallback;
}

async function handle(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): Promise<void> {
  // Hash the body as it streams in, so multi-megabyte uploads are never held in memory.
  const hash = createHash('sha256');
  let bodyLength = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bodyLength += chunk.length;
  }
  record.bodyLength = bodyLength;
  record.bodySha256 = hash.digest('hex');

  const parsed = new URL(req.url ?? '/', 'http://upstream.invalid');
  const params = parsed.searchParams;
  const path = parsed.pathname;
  const echo: EchoBody = {
    method: req.method ?? '',
    url: req.url ?? '',
    path,
    query: parseQuery(params),
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    bodyLength,
    bodySha256: record.bodySha256,
  };

  if (path === '/slow') {
    const ms = intParam(params, 'ms', 1000);
    if (await waitUnlessClosed(res, ms)) sendJson(res, 200, { ...echo, waitedMs: ms });
    return;
  }

  if (path === '/download') {
    const total = intParam(params, 'bytes', 0);
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream' };
    // ?chunked=1 leaves out content-length, for streaming tests without a known size.
    if (params.get('chunked') !== '1') headers['content-length'] = total;
    res.writeHead(200, headers);
    for (const chunk of downloadChunks(total)) {
      if (res.destroyed) return;
      if (!res.write(chunk) && !(await drained(res))) return;
    }
    res.end();
    return;
  }

  if (path === '/sse') {
    const count = intParam(params, 'count', 5);
    const interval = intParam(params, 'interval', 50);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.flushHeaders();
    for (let n = 1; n <= count; n++) {
      if (!(await waitUnlessClosed(res, interval))) return;
      res.write(`data: ${n}\n\n`);
    }
    res.end();
    return;
  }

  const statusMatch = /^\/status\/(\d{3})$/.exec(path);
  if (statusMatch) {
    const status = Number(statusMatch[1]);
    if (status < 200 || status > 599) {
      sendJson(res, 400, { error: `unsupported status ${status}` });
    } else if (status === 204 || status === 304) {
      res.writeHead(status);
      res.end();
    } else {
      sendJson(res, status, { status });
    }
    return;
  }

  if (path === '/redirect') {
    res.writeHead(302, { location: params.get('to') ?? '/', 'content-length': 0 });
    res.end();
    return;
  }

  if (path === '/set-header') {
    try {
      for (const [name, value] of Object.entries(echo.query)) res.setHeader(name, value);
    } catch (err) {
      sendJson(res, 400, { error: String(err) });
      return;
    }
    sendJson(res, 200, echo);
    return;
  }

  if (path === '/set-cookies') {
    // Two separate set-cookie lines, for tests that repeated headers survive the proxy.
    res.setHeader('set-cookie', ['a=1', 'b=2']);
    sendJson(res, 200, echo);
    return;
  }

  sendJson(res, 200, echo);
}

function recordOf(req: IncomingMessage, upgrade: boolean): RecordedRequest {
  return {
    method: req.method ?? '',
    url: req.url ?? '',
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    upgrade,
    bodyLength: 0,
    bodySha256: '',
    aborted: false,
    done: Promise.resolve('completed'),
  };
}

/** Starts the echo upstream on 127.0.0.1 with a free port. */
export async function startUpstream(opts: StartUpstreamOptions = {}): Promise<TestUpstream> {
  const requests: RecordedRequest[] = [];
  const server: Server = opts.tls
    ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key })
    : createHttpServer();
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Set<WebSocket>();

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const record = recordOf(req, false);
    record.done = new Promise((resolve) => {
      res.once('close', () => {
        record.aborted = !res.writableFinished;
        resolve(record.aborted ? 'aborted' : 'completed');
      });
    });
    requests.push(record);
    handle(req, res, record).catch((err: unknown) => {
      // An upload cut off mid-body lands here; answer if the connection is still usable.
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: String(err) });
      else res.destroy();
    });
  });

  server.on('upgrade', (req: IncomingMessage, socket, head: Buffer) => {
    const record = recordOf(req, true);
    requests.push(record);
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => {});
      // First message tells the test what the proxy forwarded on the upgrade request.
      ws.send(JSON.stringify({ url: req.url, headers: req.headers, rawHeaders: req.rawHeaders }));
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    get lastRequest() {
      return requests[requests.length - 1];
    },
    reset() {
      requests.length = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const ws of sockets) ws.terminate();
        wss.close();
        server.close(() => resolve());
        // Keep-alive and in-flight (slow, SSE) connections would otherwise hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
