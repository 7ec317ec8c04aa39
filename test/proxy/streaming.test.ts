// Large bodies stream through in both directions: bytes intact and memory flat (nothing is buffered).
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { type EchoBody, expectedDownloadSha256 } from '../helpers/upstream.js';
import { startWorld } from '../helpers/world.js';

const SIZE = 50 * 1024 * 1024;
const CHUNK = 64 * 1024;
// The whole body is 50 MB: growth well below it means it never sat in memory.
const MAX_RSS_GROWTH = 40 * 1024 * 1024;

const proxy = await startWorld(t, { idp: false, public: true });

// A young-generation GC before each sample (about a millisecond), so the samples show memory held,
// not chunks awaiting collection: without it the peak swings by 30 MB with the collector's timing.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
const rssAfterGc = (type: 'minor' | 'major' = 'minor') => {
  gc({ type });
  return process.memoryUsage.rss();
};

/** Samples this process's RSS (client, proxy and upstream all live here) while `work` runs. */
async function rssGrowthDuring<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = rssAfterGc('major');
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssAfterGc());
  }, 20);
  try {
    const result = await work();
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

/** A body generated chunk by chunk as the socket asks for it, hashed on the way out. */
function generatedBody(size: number) {
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    read() {
      if (sent >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.alloc(Math.min(CHUNK, size - sent), (sent / CHUNK) & 0xff);
      sent += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, sha256: () => hash.digest('hex') };
}

function send(
  method: string,
  url: string,
  headers: Record<string, string | number> = {},
  body?: Readable,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method, headers }, resolve);
    req.on('error', reject);
    if (body) pipeline(body, req).catch(reject);
    else req.end();
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) text += chunk;
  return text;
}

// Warm-up: the first megabytes through a fresh process grow the heap's young generation, the
// allocator's pools and the connection pool once (about 55 MB here, for a 20 MB body as for a 200 MB
// one). An 8 MB round trip pays that, so the measurement below sees only what the 50 MB costs.
const WARM_UP = 8 * 1024 * 1024;
await readAll(await send('PUT', `${proxy.url}/warm-up`, {}, generatedBody(WARM_UP).stream));
await readAll(await send('GET', `${proxy.url}/download?bytes=${WARM_UP}`));

t.test('a 50 MB upload streams to the upstream intact', async (t) => {
  const body = generatedBody(SIZE);
  const { result: echo, growth } = await rssGrowthDuring(async () => {
    const res = await send(
      'PUT',
      `${proxy.url}/upload`,
      { 'content-type': 'application/octet-stream', 'content-length': SIZE },
      body.stream,
    );
    t.equal(res.statusCode, 200);
    return JSON.parse(await readAll(res)) as EchoBody;
  });
  t.equal(echo.bodyLength, SIZE);
  t.equal(echo.bodySha256, body.sha256());
  t.ok(growth < MAX_RSS_GROWTH, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MB (< 40 MB)`);
});

t.test('a 50 MB chunked upload (no content-length) streams intact', async (t) => {
  const body = generatedBody(SIZE);
  const { result: echo, growth } = await rssGrowthDuring(async () => {
    const res = await send(
      'POST',
      `${proxy.url}/upload`,
      { 'content-type': 'application/x-data' },
      body.stream,
    );
    return JSON.parse(await readAll(res)) as EchoBody;
  });
  t.equal(echo.headers['transfer-encoding'], 'chunked');
  t.equal(echo.bodyLength, SIZE);
  t.equal(echo.bodySha256, body.sha256());
  t.ok(growth < MAX_RSS_GROWTH, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MB (< 40 MB)`);
});

t.test('a 50 MB download streams to the client intact', async (t) => {
  const expected = expectedDownloadSha256(SIZE);
  const { result, growth } = await rssGrowthDuring(async () => {
    const res = await send('GET', `${proxy.url}/download?bytes=${SIZE}`);
    t.equal(res.statusCode, 200);
    t.equal(res.headers['content-length'], String(SIZE));
    const hash = createHash('sha256');
    let length = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      hash.update(chunk);
      length += chunk.length;
    }
    return { length, sha256: hash.digest('hex') };
  });
  t.equal(result.length, SIZE);
  t.equal(result.sha256, expected);
  t.ok(growth < MAX_RSS_GROWTH, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MB (< 40 MB)`);
});
