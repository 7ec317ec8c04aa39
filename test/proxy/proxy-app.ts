// Proxy-test harness: authward in front of the echo upstream with every path public, and a raw-socket client.
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Test } from 'tap';
import { type AppDeps, buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/schema.js';
import { type LogStyle, loggerOptions } from '../../src/logger.js';
import { testConfig } from '../helpers/config.js';

type Raw = Record<string, unknown>;

export interface ProxyApp {
  app: FastifyInstance;
  config: Config;
  url: string;
  port: number;
}

/**
 * Starts authward on 127.0.0.1:0 proxying to `upstreamUrl`, closed in t.teardown.
 * Every path is public (`/*`), so the tests hold with or without sign-in; the identity
 * provider is an https URL nothing listens on.
 */
export async function startProxy(
  t: Test,
  upstreamUrl: string,
  overrides: Raw = {},
  deps: AppDeps = {},
): Promise<ProxyApp> {
  const config = testConfig({
    publicRoutes: [{ path: '/*' }],
    ...overrides,
    upstream: { url: upstreamUrl, ...((overrides.upstream as Raw) ?? {}) },
  });
  const app = await buildApp(config, deps);
  t.teardown(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { app, config, url: `http://127.0.0.1:${address.port}`, port: address.port };
}

/** A logger with authward's options writing parsed JSON lines into `lines`. */
export function captureLogger(level = 'info', style?: LogStyle) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino(loggerOptions(level, false, style), sink), lines };
}

export interface RawResponse {
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
export function rawRequest(port: number, request: string, timeoutMs = 5000): Promise<RawResponse> {
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
export function dechunk(res: RawResponse): string {
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
