// 200 MB up and 200 MB down through the proxy: bytes intact and memory flat (RSS growth bounded, nothing buffered).
import { createHash } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { type EchoBody, expectedDownloadSha256 } from '../helpers/upstream.js';
import { startWorld } from '../helpers/world.js';

const SIZE = 200 * 1024 * 1024;
const CHUNK = 64 * 1024;
// Client, proxy and upstream all live in this process: a body held anywhere would show as 200 MB.
const MAX_RSS_GROWTH = 60 * 1024 * 1024;

const proxy = await startWorld(t, { idp: false, public: true });

// A young-generation GC before each sample, so samples show memory held, not garbage awaiting
// collection (see test/proxy/streaming.test.ts).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void;
const rssAfterGc = (type: 'minor' | 'major' = 'minor') => {
  gc({ type });
  return process.memoryUsage.rss();
};

async function rssGrowthDuring<T>(work: () => Promise<T>) {
  const before = rssAfterGc('major');
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, rssAfterGc());
  }, 50);
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

function send(method: string, url: string, headers: Record<string, string | number>, body?: Readable) {
  return new Promise<IncomingMessage>((resolve, reject) => {
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

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

// Warm-up: the first megabytes grow the young generation, allocator pools and connection pool once.
const WARM_UP = 8 * 1024 * 1024;
await readAll(await send('PUT', `${proxy.url}/warm-up`, {}, generatedBody(WARM_UP).stream));
await readAll(await send('GET', `${proxy.url}/download?bytes=${WARM_UP}`, {}));

t.test('200 MB upload', async (t) => {
  const body = generatedBody(SIZE);
  const started = performance.now();
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
  const s = (performance.now() - started) / 1000;
  t.equal(echo.bodyLength, SIZE, 'the upstream got every byte');
  t.equal(echo.bodySha256, body.sha256(), 'unchanged');
  t.ok(growth < MAX_RSS_GROWTH, `RSS grew ${mb(growth)} (< ${mb(MAX_RSS_GROWTH)}) in ${s.toFixed(1)} s`);
});

t.test('200 MB download', async (t) => {
  const expected = expectedDownloadSha256(SIZE);
  const started = performance.now();
  const { result, growth } = await rssGrowthDuring(async () => {
    const res = await send('GET', `${proxy.url}/download?bytes=${SIZE}&chunked=1`, {});
    t.equal(res.statusCode, 200);
    const hash = createHash('sha256');
    let length = 0;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      hash.update(chunk);
      length += chunk.length;
    }
    return { length, sha256: hash.digest('hex') };
  });
  const s = (performance.now() - started) / 1000;
  t.equal(result.length, SIZE, 'every byte arrived');
  t.equal(result.sha256, expected, 'unchanged');
  t.ok(growth < MAX_RSS_GROWTH, `RSS grew ${mb(growth)} (< ${mb(MAX_RSS_GROWTH)}) in ${s.toFixed(1)} s`);
});
