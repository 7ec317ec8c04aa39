// npm run bench -- --micro: the per-request pieces of authward, in-process, so it shows where a request's time goes.
//
// Each case runs in rounds of MICRO_MS [300] ms after a warm-up; the median round is reported.
// Inputs have the shapes a real signed-in request has (cookie contents, headers, an MSAL cache
// partition); they are built here, not signed in: this measures code, not a session.
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import Fastify from 'fastify';
import { LRUCache } from 'lru-cache';
import pino from 'pino';
import { newKey, testConfig } from '../lab/config.js';
import { identityHeaders } from '../src/auth/claims.js';
import { publicMatcher } from '../src/auth/public-routes.js';
import { createLogger } from '../src/logger.js';
import { canonicalPath } from '../src/proxy/canonical-path.js';
import { forwardHeaders, responseHeaders, stripCookies } from '../src/proxy/headers.js';
import { cookieNames, encodeSealed, parseCookieHeader, sessionCookiePlugin } from '../src/session/cookie.js';
import { SessionRecords } from '../src/session/records.js';
import { Sealer } from '../src/token-cache/crypto.js';
import { MemoryStore } from '../src/token-cache/memory-store.js';
import { freshToken } from '../src/tokens/partition.js';
import { scopesKey, TokenService } from '../src/tokens/token-service.js';
import { fakeJwt, msalPartition, wrkHeaders } from './lib/micro-inputs.js';
import { bytesPerSession } from './lib/micro-memory.js';

const ROUND_MS = Number(process.env.MICRO_MS ?? 300);
let sink = 0;
const use = (v: unknown) => {
  sink = (sink + (typeof v === 'string' ? v.length : v ? 1 : 0)) | 0;
};

interface Result {
  name: string;
  nsPerOp: number;
  opsPerSec: number;
}

async function bench(name: string, fn: () => unknown, isAsync = false): Promise<Result> {
  const run = async (n: number) => {
    const t = process.hrtime.bigint();
    if (isAsync) for (let i = 0; i < n; i++) use(await fn());
    else for (let i = 0; i < n; i++) use(fn());
    return Number(process.hrtime.bigint() - t);
  };
  // Calibrate a round to about ROUND_MS, warm up, then take the median of five rounds.
  let n = 100;
  while ((await run(n)) < 20e6) n *= 4;
  const perOp = (await run(n)) / n;
  const iters = Math.max(1, Math.round((ROUND_MS * 1e6) / perOp));
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) rounds.push((await run(iters)) / iters);
  rounds.sort((a, b) => a - b);
  const ns = rounds[2] as number;
  return { name, nsPerOp: ns, opsPerSec: 1e9 / ns };
}

export async function runMicro(): Promise<number> {
  const config = testConfig({ publicRoutes: [{ path: '/static/*' }, { path: '/robots.txt' }] });
  const names = cookieNames(config);
  const app = Fastify({ logger: false });
  await sessionCookiePlugin(app, config, names);
  await app.ready();
  const acc = {
    homeAccountId: 'bench-user.9188040d-6c67-4c5b-b112-36a304b66dad',
    environment: '127.0.0.1:8443',
    tenantId: '',
    username: 'bench-user@test.invalid',
    localAccountId: 'bench-user',
  };
  const now = Math.floor(Date.now() / 1000);
  const data = { sid: randomBytes(24).toString('base64url'), acc, iat: now, seen: now, exp: now + 28_800 };
  const sealedCookie = app.encodeSecureSession(app.createSecureSession({ signedIn: data }));
  const headers = wrkHeaders(`${names.session}=${encodeSealed(sealedCookie)}; app=1`);
  // How the session cookie was written before issue 18's fourth pass: every `+`, `/`, `=` escaped too.
  const uriEncoded = wrkHeaders(`${names.session}=${encodeURIComponent(sealedCookie)}; app=1`);

  const match = publicMatcher(config.publicRoutes);
  const ctx = {
    forwardedFor: '127.0.0.1',
    proto: 'http',
    host: '127.0.0.1:8080',
    requestId: randomUUID(),
    ownCookie: names.isOwn,
    inject: { authorization: `Bearer ${fakeJwt()}` },
    dropAuthorization: true,
  };
  const upstreamResponse = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': '1024',
    date: new Date().toUTCString(),
    connection: 'keep-alive',
    'keep-alive': 'timeout=120',
  };

  const logger = pino({ level: 'silent' });
  const store = new MemoryStore({ maxEntries: 100_000 });
  // l1Ttl an hour: the seeded entries must outlive the run (the default 30 s would not).
  const tokens = new TokenService({} as never, store, null, { ...config.tokenCache, l1Ttl: 3600 }, logger);
  const scopes = ['api://bench/read'];
  const key = scopesKey(scopes);
  const expiresOn = Date.now() + 3_600_000;
  const renewAt = expiresOn - 300_000;
  // Seed the L1 as a store read would (remember() is private: the cast reaches it for the bench).
  const seed = tokens as unknown as { remember(id: string, k: string, r: unknown, s: string): unknown };
  for (let i = 0; i < 10_000; i++)
    seed.remember(`u${i}.${acc.homeAccountId}`, key, { accessToken: fakeJwt(), expiresOn, renewAt }, 'store');
  seed.remember(acc.homeAccountId, key, { accessToken: fakeJwt(), expiresOn, renewAt }, 'store');
  if (tokens.peek(acc, key) === undefined) throw new Error('the L1 seed did not take');

  const claims = {
    sub: 'bench-user',
    iss: 'https://127.0.0.1:8443',
    email: 'bench-user@test.invalid',
    name: 'Bench User',
    preferred_username: 'bench-user@test.invalid',
  };
  const records = new SessionRecords(store, null, 30, (r) =>
    identityHeaders(r.claims, config.upstream.identityHeaders, 'idp'),
  );
  for (let i = 0; i < 10_000; i++) await records.create(`s${i}`, { homeAccountId: `u${i}`, claims }, 3600);
  await records.create(data.sid, { homeAccountId: acc.homeAccountId, claims }, 3600);
  const lru = new LRUCache<string, object>({ max: 50_000 });
  for (let i = 0; i < 10_000; i++) lru.set(`u${i}`, { i });

  const sealer = new Sealer([Buffer.from(newKey(), 'base64')]);
  const partition = msalPartition(acc.homeAccountId, fakeJwt());
  const sealed = sealer.seal(Buffer.from(partition), `acct:${acc.homeAccountId}`);
  await store.set('acct:micro', Buffer.from(partition), 3600);

  // The client-gone signal of src/proxy/upstream-agent.ts, per request, against one per connection.
  const socket = new Socket();
  const onAbort = () => undefined;
  const perConnection = new EventEmitter();
  // What fastify does per request: request.log = logger.child({ requestId }) with authward's options.
  const appLogger = createLogger('warn', false);
  const cases: [string, () => unknown, boolean?][] = [
    ['pino child logger (only for a request that logs)', () => appLogger.child({ requestId: ctx.requestId })],
    ['cookie header parse (every request)', () => parseCookieHeader(headers.cookie)],
    ['cookie header parse: URI-encoded session cookie (before)', () => app.parseCookie(uriEncoded.cookie)],
    ['session cookie decode (cached by value: a hit)', () => app.decodeSecureSession(sealedCookie)],
    [
      'session cookie encrypt (re-issue, 1 in idle/10 s)',
      () => app.encodeSecureSession(app.createSecureSession({ signedIn: data })),
    ],
    ['canonicalPath', () => canonicalPath('/api/orders/7?sort=desc')],
    ['public route match: miss', () => match('GET', '/api/orders/7')],
    ['public route match: hit', () => match('GET', '/static/app.js')],
    ['randomUUID (request id)', () => randomUUID()],
    ['forwardHeaders (strip + inject bearer)', () => forwardHeaders(headers, ctx)],
    ['stripCookies', () => stripCookies(headers.cookie, names.isOwn)],
    ['responseHeaders', () => responseHeaders(upstreamResponse, names.isOwn)],
    [
      'client-gone signal: AbortController per request',
      () => {
        const controller = new AbortController();
        const abandon = () => controller.abort();
        socket.once('close', abandon);
        controller.signal.addEventListener('abort', onAbort, { once: true }); // what undici does with it
        controller.signal.removeEventListener('abort', onAbort);
        socket.off('close', abandon);
        return controller;
      },
    ],
    [
      'client-gone signal: one EventEmitter per connection',
      () => {
        perConnection.once('abort', onAbort);
        perConnection.removeListener('abort', onAbort);
        return perConnection;
      },
    ],
    ['L1 hit: TokenService.peek (the hot path)', () => tokens.peek(acc, key)],
    ['L1 hit: TokenService.acquire (awaited)', () => tokens.acquire(acc, scopes, key), true],
    ['LRU get (lru-cache, 10k entries)', () => lru.get('u4242')],
    ['records cache: SessionRecords.peek (the hot path)', () => records.peek(data.sid)],
    ['records cache get: SessionRecords.get (awaited)', () => records.get(data.sid), true],
    ['--- per L1 miss (scenario 8) ---', () => 0],
    ['Sealer.open partition', () => sealer.open(sealed, `acct:${acc.homeAccountId}`)],
    ['memory store get: partition (inflate, issue 18)', () => store.get('acct:micro'), true],
    [
      'freshToken (JSON.parse partition)',
      () => freshToken(partition, acc.homeAccountId, scopes, undefined, config.tokenCache.renewWindow),
    ],
    ['--- per record load (each revocationCheckInterval) ---', () => 0],
    ['identityHeaders', () => identityHeaders(claims, config.upstream.identityHeaders, 'idp')],
  ];
  process.stdout.write(
    `micro-benchmarks (median of 5 rounds of ~${ROUND_MS} ms; partition ${partition.length} B)\n\n`,
  );
  const results: Result[] = [];
  const width = Math.max(...cases.map(([n]) => n.length));
  process.stdout.write(`${'case'.padEnd(width)} | ${'ns/op'.padStart(9)} | ${'ops/s'.padStart(12)}\n`);
  process.stdout.write(`${'-'.repeat(width)}-|-----------|-------------\n`);
  for (const [name, fn, isAsync] of cases) {
    if (name.startsWith('---')) {
      process.stdout.write(`${name}\n`);
      continue;
    }
    const r = await bench(name, fn, isAsync ?? false);
    results.push(r);
    process.stdout.write(
      `${name.padEnd(width)} | ${r.nsPerOp.toFixed(0).padStart(9)} | ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)}\n`,
    );
  }
  const sessions = Number(process.env.MICRO_SESSIONS ?? 10_000);
  const { perSession, fixed } = await bytesPerSession(config, sessions);
  process.stdout.write(
    `\nmemory per signed-in session (memory cache: partition, record, records cache, L1; ${sessions} sessions): ${(perSession / 1024).toFixed(2)} KiB -> ${((perSession * 10_000) / 1048576).toFixed(0)} MiB per 10,000 sessions, besides ${(fixed / 1048576).toFixed(1)} MiB for the empty tables at the default sizes\n`,
  );
  process.stdout.write(`(sink ${sink})\n`);
  await app.close();
  await store.close();
  return 0;
}
