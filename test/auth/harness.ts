// Shared parts of the sign-in tests: a store that can list its keys, a browser that stops at the callback, raw requests.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Response } from 'undici';
import { MemoryStore } from '../../src/token-cache/memory-store.js';
import { Browser, type BrowserRequestInit, signIn } from '../helpers/browser.js';

/** A MemoryStore that remembers which keys were written, so a test can ask what is still there. */
export class KeyedStore extends MemoryStore {
  private readonly written = new Set<string>();

  constructor() {
    super({ maxEntries: 10_000 });
  }

  override async set(key: string, value: Buffer, ttlSeconds: number): Promise<void> {
    this.written.add(key);
    await super.set(key, value, ttlSeconds);
  }

  /** Keys with this prefix that still hold a value (e.g. 'acct:' token partitions, 'sess:' records). */
  async live(prefix: string): Promise<string[]> {
    const out: string[] = [];
    for (const key of this.written)
      if (key.startsWith(prefix) && (await this.get(key)) !== null) out.push(key);
    return out;
  }
}

/**
 * A browser that does not follow the provider's redirect into the app's callback: the callback URL
 * (code + state) is captured instead, so a test can replay it, move it to another browser, or drop it.
 */
export class CapturingBrowser extends Browser {
  stopAt: string | undefined;
  captured: string | undefined;

  override async fetch(url: string, init: BrowserRequestInit = {}) {
    if (this.stopAt && url.startsWith(this.stopAt)) {
      this.captured = url;
      return new Response('captured by the test', { status: 200 });
    }
    return super.fetch(url, init);
  }
}

/** Runs a sign-in through the provider and returns the callback URL the provider sent the browser to. */
export async function authorizeOnly(
  browser: CapturingBrowser,
  startUrl: string,
  callbackUrl: string,
  login: string,
): Promise<string> {
  browser.stopAt = callbackUrl;
  browser.captured = undefined;
  try {
    await signIn(browser, startUrl, { login });
  } finally {
    browser.stopAt = undefined;
  }
  if (!browser.captured) throw new Error(`authorizeOnly: never reached ${callbackUrl}`);
  return browser.captured;
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
