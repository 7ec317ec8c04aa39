// ${VAR} substitution and *File secrets: how Kubernetes and Docker hand authward its secrets.
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} in plain strings is what this file tests
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { loadConfigFile, loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { newKey, rawConfig } from '../helpers/config.js';

type Raw = Record<string, unknown>;

/** A valid config's YAML with the identity and session sections replaced (not merged). */
function yamlWith(identity: Raw, session: Raw = { keys: [newKey()] }): string {
  const c = rawConfig();
  const { clientSecret: _, ...id } = c.identity as Raw;
  return stringify({ ...c, identity: { ...id, ...identity }, session });
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return ['(no error: config was accepted)'];
}

t.test('${VAR} is replaced by the environment variable, inside longer strings too', async (t) => {
  const key = newKey();
  const text = stringify({
    ...rawConfig(),
    upstream: { url: 'http://${UP_HOST}:${UP_PORT}/base' },
    session: { keys: ['${KEY}'] },
  });
  const config = loadConfigText(text, { UP_HOST: '10.0.0.7', UP_PORT: '3000', KEY: key });
  t.equal(config.upstream.url, 'http://10.0.0.7:3000/base');
  t.same(config.session.keys, [key]);
});

t.test('a missing variable is an error naming the variable and the path', async (t) => {
  const text = stringify({
    ...rawConfig(),
    identity: { ...(rawConfig().identity as Raw), clientId: '${CID}' },
  });
  t.same(
    problemsOf(() => loadConfigText(text, {})),
    ['identity.clientId: environment variable CID is not set'],
  );
});

t.test('every missing variable is reported, with its list index', async (t) => {
  const text = stringify({ ...rawConfig(), session: { keys: ['${K1}', '${K2}'] } });
  t.same(
    problemsOf(() => loadConfigText(text, {})),
    [
      'session.keys[0]: environment variable K1 is not set',
      'session.keys[1]: environment variable K2 is not set',
    ],
  );
});

t.test('a malformed reference is an error', async (t) => {
  const text = stringify({ ...rawConfig(), upstream: { url: 'http://${not valid}/' } });
  t.same(
    problemsOf(() => loadConfigText(text, {})),
    ['upstream.url: "${not valid}" is not a valid environment variable reference'],
  );
});

t.test('$${ escapes a literal ${', async (t) => {
  const text = stringify({
    ...rawConfig(),
    identity: { ...(rawConfig().identity as Raw), clientSecret: 'a$${B}c-${S}' },
  });
  const config = loadConfigText(text, { S: 'x', B: 'not-used' });
  t.equal(config.identity.clientSecret, 'a${B}c-x');
});

t.test('clientSecretFile: the file’s contents, trimmed, become clientSecret', async (t) => {
  const dir = t.testdir({ 'client-secret': '  s3cr3t-value\n\n' });
  const config = loadConfigText(yamlWith({ clientSecretFile: join(dir, 'client-secret') }), {});
  t.equal(config.identity.clientSecret, 's3cr3t-value');
  t.notOk('clientSecretFile' in config.identity, 'the File key is replaced by the value');
});

t.test('a relative *File path is resolved against the config file’s folder', async (t) => {
  const dir = t.testdir({ secrets: { 'client-secret': 'from-relative-file\n' } });
  const file = join(dir, 'authward.yaml');
  writeFileSync(file, yamlWith({ clientSecretFile: 'secrets/client-secret' }));
  t.equal(loadConfigFile(file, {}).identity.clientSecret, 'from-relative-file');
});

t.test('session.keysFile: one key per line, blank lines and CRLF ignored', async (t) => {
  const [k1, k2] = [newKey(), newKey()];
  const dir = t.testdir({ keys: `${k1}\r\n\n  ${k2}  \n` });
  const config = loadConfigText(yamlWith({ clientSecret: 'x' }, { keysFile: join(dir, 'keys') }), {});
  t.same(config.session.keys, [k1, k2]);
});

t.test('a key file holding a bad key is reported without the key', async (t) => {
  const dir = t.testdir({ keys: `${newKey()}\nnot-a-key-at-all\n` });
  const problems = problemsOf(() =>
    loadConfigText(yamlWith({ clientSecret: 'x' }, { keysFile: join(dir, 'keys') }), {}),
  );
  t.match(problems, [/^session\.keys\[1\]: must be a base64-encoded 32-byte key .*, got \(hidden\)$/]);
  t.notOk(problems.join('\n').includes('not-a-key-at-all'));
});

t.test('both clientSecret and clientSecretFile is an error', async (t) => {
  const dir = t.testdir({ 'client-secret': 'from-file' });
  t.same(
    problemsOf(() =>
      loadConfigText(yamlWith({ clientSecret: 'inline', clientSecretFile: join(dir, 'client-secret') }), {}),
    ),
    ['identity.clientSecret: give either clientSecret or clientSecretFile, not both'],
  );
});

t.test('an unreadable secret file is an error naming the key and the file', async (t) => {
  const dir = t.testdir({ 'no-access': 'x' });
  const missing = join(dir, 'does-not-exist');
  t.same(
    problemsOf(() => loadConfigText(yamlWith({ clientSecretFile: missing }), {})),
    [`identity.clientSecretFile: cannot read ${missing}: no such file (ENOENT)`],
  );
  // A file without read permission (root reads everything, so only check where permissions apply).
  const locked = join(dir, 'no-access');
  chmodSync(locked, 0);
  if (process.getuid?.() !== 0) {
    t.same(
      problemsOf(() => loadConfigText(yamlWith({ clientSecretFile: locked }), {})),
      [`identity.clientSecretFile: cannot read ${locked}: permission denied (EACCES)`],
    );
  }
});

t.test('a missing config file is an error naming it', async (t) => {
  const file = join(t.testdir(), 'nope.yaml');
  t.same(
    problemsOf(() => loadConfigFile(file, {})),
    [`cannot read config file ${file}: no such file (ENOENT)`],
  );
});

t.test('nested secret files: a client certificate passphrase', async (t) => {
  const dir = t.testdir({ pass: 'pw\n' });
  const config = loadConfigText(
    yamlWith({
      clientCertificate: {
        certificateFile: '/run/secrets/cert.pem',
        privateKeyFile: '/run/secrets/key.pem',
        passphraseFile: join(dir, 'pass'),
      },
    }),
    {},
  );
  t.equal(config.identity.clientCertificate?.passphrase, 'pw');
});
