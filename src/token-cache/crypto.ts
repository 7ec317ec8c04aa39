// Encryption at rest of token-cache entries: AES-256-GCM bound to the account key, with key rotation.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { TokenCacheConfig } from '../config/schema.js';

// Blob: version (1) | key fingerprint (4) | nonce (12) | tag (16) | ciphertext.
const VERSION = 1;
const FINGERPRINT_BYTES = 4;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + FINGERPRINT_BYTES;
const OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;

// A fingerprint (not a list index) names the key, so operators may reorder or prune the key list freely.
// Domain-separated so the fingerprint says nothing reusable about the key elsewhere.
function fingerprint(key: Buffer): Buffer {
  return createHash('sha256')
    .update('authward token-cache key id\0')
    .update(key)
    .digest()
    .subarray(0, FINGERPRINT_BYTES);
}

interface SealKey {
  key: Buffer;
  id: Buffer;
}

export class Sealer {
  private readonly keys: SealKey[];

  /** The first key encrypts; every key decrypts (rotation: prepend the new key, drop the old one later). */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new Error('Sealer needs at least one key');
    this.keys = keys.map((key, i) => {
      if (key.length !== 32) throw new Error(`encryption key #${i + 1} must be 32 bytes, got ${key.length}`);
      return { key: Buffer.from(key), id: fingerprint(key) };
    });
  }

  /** associatedData (the account key) is authenticated, so a blob copied under another account won't open. */
  seal(plaintext: Buffer, associatedData: string): Buffer {
    const { key, id } = this.keys[0] as SealKey;
    const header = Buffer.concat([Buffer.of(VERSION), id]);
    // A random 96-bit nonce per seal: safe for far more seals than one key will ever see here.
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(header, associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, nonce, cipher.getAuthTag(), ciphertext]);
  }

  /** The plaintext, or null when the blob is unknown, tampered, or belongs to another account or key. */
  open(blob: Buffer, associatedData: string): Buffer | null {
    if (blob.length < OVERHEAD || blob[0] !== VERSION) return null;
    const header = blob.subarray(0, HEADER_BYTES);
    const id = blob.subarray(1, HEADER_BYTES);
    const nonce = blob.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
    const tag = blob.subarray(HEADER_BYTES + NONCE_BYTES, OVERHEAD);
    const ciphertext = blob.subarray(OVERHEAD);
    // Normally one candidate; several only on a 32-bit fingerprint collision.
    for (const { key } of this.keys.filter((k) => k.id.equals(id))) {
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad(header, associatedData));
        decipher.setAuthTag(tag);
        return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      } catch {
        // Authentication failed under this key: try the next candidate, then give up with null.
      }
    }
    return null;
  }
}

// The header is authenticated too, so a blob can't be relabelled with another version or key id.
function aad(header: Buffer, associatedData: string): Buffer {
  return Buffer.concat([header, Buffer.from(associatedData, 'utf8')]);
}

/** A Sealer from `tokenCache.encryptionKeys` (base64), or null when none are configured. */
export function sealerFromConfig(cfg: Pick<TokenCacheConfig, 'encryptionKeys'>): Sealer | null {
  const keys = cfg.encryptionKeys;
  if (keys === undefined || keys.length === 0) return null;
  return new Sealer(keys.map((k) => Buffer.from(k, 'base64')));
}

/** What the store keeps for `plain` under `key`: sealed when tokenCache.encryptionKeys are set. */
export function sealFor(sealer: Sealer | null, plain: Buffer, key: string): Buffer {
  return sealer ? sealer.seal(plain, key) : plain;
}

/** The plaintext of a stored blob, or null when it does not open (see Sealer.open). */
export function openFrom(sealer: Sealer | null, blob: Buffer, key: string): Buffer | null {
  return sealer ? sealer.open(blob, key) : blob;
}
