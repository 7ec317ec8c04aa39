// Background load for scenario 9: many other accounts already in Redis, cloned from the real signed-in user.
//
// Each clone is the real user's token-cache partition and session record with the account id
// rewritten, sealed again under its own key (the AAD binds a blob to its key), so Redis holds what
// that many real sign-ins would leave behind. They are load only: the measured session stays real.
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { Sealer } from '../../src/token-cache/crypto.js';
import type { Authward } from './authward.js';

const PARTITION_TTL_MS = 14 * 86_400_000;
const SESSION_TTL_MS = 8 * 3_600_000;

async function onlyKey(client: Redis, pattern: string): Promise<string> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  if (keys.length !== 1) throw new Error(`expected one key ${pattern}, found ${keys.length}`);
  return keys[0] as string;
}

export async function populateAccounts(
  client: Redis,
  aw: Authward,
  n: number,
): Promise<{ seconds: number; partitionBytes: number; recordBytes: number; usedMemoryMiB: number }> {
  const started = Date.now();
  const sealer = new Sealer([Buffer.from(aw.tokenKey, 'base64')]);
  const prefix = aw.keyPrefix;
  const open = async (fullKey: string) => {
    const blob = await client.getBuffer(fullKey);
    const plain = blob && sealer.open(blob, fullKey.slice(prefix.length));
    if (!plain) throw new Error(`${fullKey} does not open with the instance's key`);
    return plain.toString('utf8');
  };
  const partitionKey = await onlyKey(client, `${prefix}acct:*`);
  const realId = partitionKey.slice(`${prefix}acct:`.length);
  const partition = await open(partitionKey);
  const record = JSON.parse(await open(await onlyKey(client, `${prefix}sess:*`))) as {
    homeAccountId: string;
  };

  // Sealing (here) and storing (Redis) take about as long each: one batch is sealed while the last is stored.
  const batch = 1000;
  let inFlight: Promise<unknown> | undefined;
  for (let from = 0; from < n; from += batch) {
    const pipeline = client.pipeline();
    for (let i = from; i < Math.min(n, from + batch); i++) {
      const id = `${i.toString(36)}-clone.${realId}`;
      const sid = randomBytes(24).toString('base64url');
      const part = Buffer.from(partition.replaceAll(realId, id), 'utf8');
      const rec = Buffer.from(JSON.stringify({ ...record, homeAccountId: id }), 'utf8');
      pipeline.set(`${prefix}acct:${id}`, sealer.seal(part, `acct:${id}`), 'PX', PARTITION_TTL_MS);
      pipeline.set(`${prefix}sess:${sid}`, sealer.seal(rec, `sess:${sid}`), 'PX', SESSION_TTL_MS);
    }
    const sent = pipeline.exec();
    await inFlight;
    inFlight = sent;
  }
  await inFlight;
  const info = await client.info('memory');
  return {
    seconds: (Date.now() - started) / 1000,
    partitionBytes: Buffer.byteLength(partition),
    recordBytes: Buffer.byteLength(JSON.stringify(record)),
    usedMemoryMiB: Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / 1048576,
  };
}
