// Proves the token-cache Sealer: confidentiality, binding to the account key, tamper detection, key rotation.
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { Sealer, sealerFromConfig } from '../../src/token-cache/crypto.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const plaintext = Buffer.from('{"refresh_token":"0.AAAA-very-secret-refresh-token"}');
const account = 'uid.utid-login.microsoftonline.com-tenant';

t.test('round trip', async (t) => {
  const sealer = new Sealer([k1]);
  const blob = sealer.seal(plaintext, account);
  t.same(sealer.open(blob, account), plaintext);
  t.same(sealer.open(sealer.seal(Buffer.alloc(0), account), account), Buffer.alloc(0), 'empty plaintext');
});

t.test('a fresh nonce per seal: sealing twice gives different blobs', async (t) => {
  const sealer = new Sealer([k1]);
  t.notSame(sealer.seal(plaintext, account), sealer.seal(plaintext, account));
});

t.test('the ciphertext does not contain the plaintext', async (t) => {
  const blob = new Sealer([k1]).seal(plaintext, account);
  t.notOk(blob.includes(Buffer.from('very-secret-refresh-token')));
});

t.test('a blob copied under another account key does not open', async (t) => {
  const sealer = new Sealer([k1]);
  t.equal(sealer.open(sealer.seal(plaintext, account), 'another-account'), null);
});

t.test('any tampered byte makes open return null', async (t) => {
  const sealer = new Sealer([k1]);
  const blob = sealer.seal(plaintext, account);
  for (let i = 0; i < blob.length; i++) {
    const bad = Buffer.from(blob);
    bad[i] = (bad[i] ?? 0) ^ 0x01;
    if (sealer.open(bad, account) !== null) t.fail(`flipping byte ${i} went unnoticed`);
  }
  t.equal(sealer.open(blob.subarray(0, blob.length - 1), account), null, 'truncated');
  t.equal(sealer.open(Buffer.alloc(5), account), null, 'too short');
  t.equal(sealer.open(Buffer.alloc(0), account), null, 'empty');
});

t.test('key rotation', async (t) => {
  const old = new Sealer([k1]);
  const rotated = new Sealer([k2, k1]);
  t.same(rotated.open(old.seal(plaintext, account), account), plaintext, 'old blobs open after rotation');
  t.same(
    new Sealer([k1, k2]).open(old.seal(plaintext, account), account),
    plaintext,
    'order does not matter',
  );
  const fresh = rotated.seal(plaintext, account);
  t.equal(old.open(fresh, account), null, 'new blobs need the new key');
  t.same(new Sealer([k2]).open(fresh, account), plaintext, 'the first key encrypts');
  t.equal(new Sealer([randomBytes(32)]).open(fresh, account), null, 'unknown key');
});

t.test('construction and config', async (t) => {
  t.throws(() => new Sealer([]), /at least one key/);
  t.throws(() => new Sealer([randomBytes(16)]), /32 bytes/);
  t.equal(sealerFromConfig({}), null, 'no keys: no sealer');
  const fromCfg = sealerFromConfig({ encryptionKeys: [k2.toString('base64'), k1.toString('base64')] });
  t.same(fromCfg?.open(new Sealer([k1]).seal(plaintext, account), account), plaintext);
});
