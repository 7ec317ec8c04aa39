// Looking inside the token store: which keys a store holds, a sealed MSAL partition as Redis holds it, token requests in flight.
import { createHash } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import { Sealer } from '../../src/token-cache/crypto.js';
import { MemoryStore } from '../../src/token-cache/memory-store.js';

type Raw = Record<string, unknown>;

/** A MemoryStore that remembers which keys were written, so a test can ask what is still there. */
export class KeyedStore extends MemoryStore {
  readonly written = new Set<string>();

  constructor(maxEntries = 10_000) {
    super({ maxEntries });
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

/** Every key under `prefix` (on every master of a cluster), without the prefix, sorted. */
export async function listKeys(client: Redis | Cluster, prefix: string): Promise<string[]> {
  const isCluster = 'nodes' in client && typeof client.nodes === 'function';
  if (isCluster && client.status !== 'ready') await once(client, 'ready');
  const nodes = isCluster ? (client as Cluster).nodes('master') : [client];
  const keys: string[] = [];
  for (const node of nodes as Redis[]) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys.map((k) => k.slice(prefix.length)).sort();
}

export type MsalEntity = { home_account_id?: string; secret?: string; target?: string } & Raw;
export type MsalCache = Partial<
  Record<'Account' | 'AccessToken' | 'RefreshToken' | 'IdToken' | 'AppMetadata', Record<string, MsalEntity>>
>;

/** The MSAL cache JSON of one partition, as the replicas wrote it (sealed under `acct:<id>`). */
export async function readPartition(
  client: Redis | Cluster,
  prefix: string,
  key: string,
  cacheKey: string,
): Promise<MsalCache> {
  const blob = await client.getBuffer(prefix + key);
  if (!blob) throw new Error(`no ${key} in Redis`);
  const plain = new Sealer([Buffer.from(cacheKey, 'base64')]).open(blob, key);
  if (!plain) throw new Error(`${key} does not open with the configured key`);
  return JSON.parse(plain.toString('utf8')) as MsalCache;
}

/** The key id a Sealer writes into a blob (bytes 1..4): which key encrypted it. */
export const keyFingerprint = (base64Key: string) =>
  createHash('sha256')
    .update('authward token-cache key id\0')
    .update(Buffer.from(base64Key, 'base64'))
    .digest()
    .subarray(0, 4)
    .toString('hex');
export const blobFingerprint = (blob: Buffer) => blob.subarray(1, 5).toString('hex');

/**
 * Resolves when an in-process app next sends a token request (POST .../token) to the provider: the moment
 * a refresh is under way and past every store read before it. Seen on undici's diagnostics channel, as
 * the request's headers are written, so no provider-side hook is needed.
 */
export function nextTokenRequest(timeoutMs = 8000): Promise<void> {
  return new Promise((resolve, reject) => {
    const listener = (message: unknown) => {
      const { request } = message as { request: { method: string; path: string } };
      if (request.method !== 'POST' || !request.path.split('?')[0]?.endsWith('/token')) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no token request within ${timeoutMs} ms`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      diagnostics.unsubscribe('undici:client:sendHeaders', listener);
    };
    diagnostics.subscribe('undici:client:sendHeaders', listener);
  });
}
