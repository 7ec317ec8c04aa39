// Memory one signed-in session holds in a memory-cache replica: partition, session record, records cache, L1 entry.
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import pino from 'pino';
import { type Claims, identityHeaders } from '../../src/auth/claims.js';
import type { Config } from '../../src/config/schema.js';
import { SessionRecords } from '../../src/session/records.js';
import { MemoryStore } from '../../src/token-cache/memory-store.js';
import { scopesKey, TokenService } from '../../src/tokens/token-service.js';
import { fakeJwt, msalPartition } from './micro-inputs.js';

function collect(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

const used = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

export interface SessionMemory {
  /** Heap + external bytes each added session holds (the marginal cost). */
  perSession: number;
  /** Bytes the empty structures take at the config's sizes (lru-cache allocates its tables up front). */
  fixed: number;
}

/**
 * Heap + external bytes per session, with n sessions created the way a sign-in and a first request
 * leave them, in structures of the product's default sizes built first (their tables are a fixed
 * cost, reported apart: at 10,000 sessions counting them in would add ~0.9 KiB to each).
 */
export async function bytesPerSession(config: Config, n: number): Promise<SessionMemory> {
  const gc = collect();
  gc();
  gc();
  const empty = used();
  const store = new MemoryStore({ maxEntries: Math.max(config.tokenCache.maxEntries, 2 * n) });
  const tokens = new TokenService({} as never, store, null, config.tokenCache, pino({ level: 'silent' }));
  const records = new SessionRecords(store, null, 30, (r) =>
    identityHeaders(r.claims, config.upstream.identityHeaders, 'idp'),
  );
  gc();
  gc();
  const before = used();
  const key = scopesKey(['api://bench/read']);
  const expiresOn = Date.now() + 3_600_000;
  const renewAt = expiresOn - 300_000;
  const seed = tokens as unknown as { remember(id: string, k: string, r: unknown, s: string): unknown };
  for (let i = 0; i < n; i++) {
    const login = `user-${i}`;
    const id = `${login}.9188040d-6c67-4c5b-b112-36a304b66dad`;
    const claims: Claims = {
      sub: login,
      iss: 'https://127.0.0.1:8443',
      email: `${login}@test.invalid`,
      name: `Test user ${login}`,
      preferred_username: `${login}@test.invalid`,
    };
    // As a real sign-in: the partition's ID token is the record's, its access token the L1's.
    const idToken = fakeJwt();
    const accessToken = fakeJwt();
    await store.set(`acct:${id}`, Buffer.from(msalPartition(id, accessToken, idToken)), 3600);
    await records.create(randomBytes(24).toString('base64url'), { homeAccountId: id, claims, idToken }, 3600);
    seed.remember(id, key, { accessToken, expiresOn, renewAt }, 'store');
  }
  gc();
  gc();
  const perSession = (used() - before) / n;
  // Keep everything reachable until measured.
  if (!tokens || !records) throw new Error('unreachable');
  await store.close();
  return { perSession, fixed: before - empty };
}
