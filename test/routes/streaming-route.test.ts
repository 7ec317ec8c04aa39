// Bodies stream through a token route both ways: a 20 MB upload arrives intact, a download arrives as it is written.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import t from 'tap';
import { request } from 'undici';
import { downloadSha256 } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startWorld } from '../helpers/world.js';

const MB = 1024 * 1024;

t.test('streaming through a token route', async (t) => {
  const aw = await startWorld(t, {
    idp: { apiScopes: ['api://orders/read'] },
    apis: { files: { audience: 'api://orders', scope: 'api://orders/read' } },
    config: (w) => ({
      routes: [
        { name: 'files', path: '/api/files', target: w.apis.files.url, scopes: ['api://orders/read'] },
      ],
    }),
  });
  const { idp } = aw;
  const { files } = aw.apis;
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'nia' })).status, 200, 'signed in');
  const cookie = browser.cookieHeader(`${aw.url}/api/files/`) ?? '';
  t.ok(cookie, 'have a session cookie');

  t.test('a 20 MB upload, chunked, arrives byte for byte', async (t) => {
    const body = randomBytes(20 * MB);
    const sha = createHash('sha256').update(body).digest('hex');
    // Sent in 256 KiB pieces without a content-length: the proxy cannot know the size upfront.
    const pieces = function* () {
      for (let i = 0; i < body.length; i += 256 * 1024) yield body.subarray(i, i + 256 * 1024);
    };
    const res = await request(`${aw.url}/api/files/upload`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/octet-stream', accept: 'application/json' },
      body: Readable.from(pieces()),
    });
    const answer = (await res.body.json()) as { bodyLength: number; bodySha256: string; sub: string };
    t.equal(res.statusCode, 200);
    const seen = files.requests.at(-1);
    t.equal(seen?.method, 'POST');
    t.equal(seen?.bodyLength, body.length, 'the API received every byte');
    t.equal(seen?.bodySha256, sha, 'unchanged');
    t.equal(seen?.claims?.sub, 'nia', 'with the user token');
    t.same(answer, { ...answer, bodyLength: body.length, bodySha256: sha }, 'and said so in its answer');
  });

  t.test('a 20 MB upload with a content-length', async (t) => {
    const body = randomBytes(20 * MB);
    const res = await request(`${aw.url}/api/files/upload`, {
      method: 'PUT',
      headers: { cookie, 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    });
    await res.body.dump();
    t.equal(res.statusCode, 200, 'not parsed nor limited by authward, whatever the content-type');
    t.equal(files.requests.at(-1)?.bodyLength, body.length);
    t.equal(files.requests.at(-1)?.bodySha256, createHash('sha256').update(body).digest('hex'));
  });

  t.test('a 20 MB download streams back as the API writes it', async (t) => {
    const total = 20 * MB;
    const holdMs = 1500;
    const started = Date.now();
    const res = await request(`${aw.url}/api/files/download?bytes=${total}&holdMs=${holdMs}`, {
      headers: { cookie },
    });
    t.equal(res.statusCode, 200);
    const hash = createHash('sha256');
    let length = 0;
    let firstChunkMs: number | undefined;
    for await (const chunk of res.body) {
      firstChunkMs ??= Date.now() - started;
      hash.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    const totalMs = Date.now() - started;
    t.ok(
      firstChunkMs !== undefined && firstChunkMs < holdMs,
      `the first bytes arrived (${firstChunkMs} ms) while the API was still holding the rest`,
    );
    t.ok(totalMs >= holdMs, `the whole body took at least the hold (${totalMs} ms)`);
    t.equal(length, total, 'every byte');
    t.equal(hash.digest('hex'), downloadSha256(total), 'unchanged');
    t.equal(files.requests.at(-1)?.claims?.sub, 'nia');
  });
});
