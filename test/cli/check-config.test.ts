// The CLI's one-shot commands: --check-config (exit 0 or 1 with every problem), AUTHWARD_CONFIG, keygen,
// --version, usage errors.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { rawConfig } from '../helpers/config.js';
import { repoPath } from '../helpers/repo-root.js';
import { type RunResult, runCli } from './cli-process.js';

// pages.templates: a folder checked at start (src/pages/templates.ts); --check-config checks it too.
const dir = t.testdir({
  templates: {
    good: { 'page.html': '<html lang="en"><title>{{title}}</title>{{content}} {{requestId}}</html>' },
    bad: { 'page.html': '<html>{{title}} {{contnet}} {{requestId}}</html>', 'error.html': 'x' },
  },
});
const templates = join(dir, 'templates');
const good = join(dir, 'good.yaml');
writeFileSync(good, stringify(rawConfig()));
const bad = join(dir, 'bad.yaml');
writeFileSync(
  bad,
  stringify(
    rawConfig({
      upstream: { url: 'localhost:3000' },
      listen: { prot: 8080 },
      session: { keys: ['not-a-key-secret-value'] },
    }),
  ),
);

const withTemplates = (name: string) => {
  const path = join(dir, `templates-${name}.yaml`);
  writeFileSync(path, stringify(rawConfig({ pages: { templates: join(templates, name) } })));
  return path;
};
const goodTemplates = withTemplates('good');
const badTemplates = withTemplates('bad');

const STACK = /^\s+at .+:\d+:\d+\)?$/m;
const missing = join(dir, 'missing.yaml');

// Every run starts now, side by side; each test below awaits its own.
const runs = {
  good: runCli(['--config', good, '--check-config']),
  bad: runCli(['-c', bad, '--check-config']),
  startBad: runCli(['--config', bad]),
  missing: runCli(['--config', missing, '--check-config']),
  envGood: runCli(['--check-config'], { AUTHWARD_CONFIG: good }),
  flagOverEnv: runCli(['--config', good, '--check-config'], { AUTHWARD_CONFIG: bad }),
  keygen: Promise.all([runCli(['keygen']), runCli(['keygen'])]),
  unknownCommand: runCli(['frobnicate']),
  unknownOption: runCli(['--bogus']),
  noConfig: runCli([], { AUTHWARD_CONFIG: '' }),
  help: runCli(['--help']),
  version: runCli(['--version']),
  noValue: runCli(['--config']),
  goodTemplates: runCli(['--config', goodTemplates, '--check-config']),
  badTemplates: runCli(['--config', badTemplates, '--check-config']),
};

t.test('--check-config on a good file: exit 0', async (t) => {
  const r = await runs.good;
  t.equal(r.code, 0, `exit 0 (signal ${r.signal}) ${r.stderr}`);
  t.equal(r.stdout, `authward: ${good}: configuration is valid\n`);
  t.equal(r.stderr, '');
});

t.test('--check-config on a bad file: exit 1, every problem listed, no stack trace', async (t) => {
  const r = await runs.bad;
  t.equal(r.code, 1);
  t.equal(r.stdout, '');
  const problems = r.stderr.split('\n').filter((l) => l.startsWith('  - '));
  t.same(problems.toSorted(), [
    '  - listen.prot: unknown key (did you mean "port"?)',
    '  - session.keys[0]: must be a base64-encoded 32-byte key (generate one with `authward keygen`), got (hidden)',
    '  - upstream.url: must be an absolute http(s) URL, got "localhost:3000"',
  ]);
  t.match(r.stderr, `authward: ${bad}: invalid configuration:`);
  t.notMatch(r.stderr, STACK, 'no stack trace');
  t.notOk(r.stderr.includes('not-a-key-secret-value'), 'the secret is not printed');
});

t.test('starting (without --check-config) on a bad file: exit 1 the same way', async (t) => {
  const r = await runs.startBad;
  t.equal(r.code, 1);
  t.match(r.stderr, 'upstream.url: must be an absolute http(s) URL');
  t.notMatch(r.stderr, STACK);
});

t.test('--check-config checks pages.templates as the start does: every problem, exit 1', async (t) => {
  const good = await runs.goodTemplates;
  t.equal(good.code, 0, good.stderr);
  t.equal(good.stdout, `authward: ${goodTemplates}: configuration is valid\n`);
  const r = await runs.badTemplates;
  t.equal(r.code, 1, `exit 1, not "valid": ${r.stdout}`);
  t.equal(r.stdout, '');
  const page = join(templates, 'bad', 'page.html');
  const [first, ...problems] = r.stderr.split('\n');
  t.equal(first, `authward: ${badTemplates}: invalid configuration:`);
  t.same(problems.toSorted(), [
    '',
    `  - pages.templates: ${join(templates, 'bad', 'error.html')}: unknown file (known: page.html)`,
    `  - pages.templates: ${page}: missing the placeholder {{content}}`,
    `  - pages.templates: ${page}: unknown placeholder {{contnet}} (known: title, appName, content, requestId)`,
  ]);
});

t.test('a missing config file: exit 1 naming it', async (t) => {
  const r = await runs.missing;
  t.equal(r.code, 1);
  t.equal(r.stderr, `authward: cannot read config file ${missing}: no such file (ENOENT)\n`);
  t.notMatch(r.stderr, STACK);
});

t.test('AUTHWARD_CONFIG instead of --config', async (t) => {
  const ok = await runs.envGood;
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, 'configuration is valid');
  const both = await runs.flagOverEnv;
  t.equal(both.code, 0, '--config wins over the environment');
});

t.test('keygen prints a fresh base64 32-byte key', async (t) => {
  const [a, b] = await runs.keygen;
  for (const r of [a, b]) {
    t.equal(r.code, 0);
    t.match(r.stdout, /^[A-Za-z0-9+/]{43}=\n$/);
    t.equal(Buffer.from(r.stdout.trim(), 'base64').length, 32);
  }
  t.not(a.stdout, b.stdout, 'a new key each time');
});

t.test('usage errors: exit 2 with the usage', async (t) => {
  const cases: [string, Promise<RunResult>, RegExp][] = [
    ['unknown command', runs.unknownCommand, /unknown command frobnicate/],
    ['unknown option', runs.unknownOption, /^authward: unknown option --bogus$/],
    ['option without its value', runs.noValue, /^authward: --config needs a value$/],
    [
      'no config at all',
      runs.noConfig,
      /^authward: no config file: pass --config FILE or set AUTHWARD_CONFIG$/,
    ],
  ];
  for (const [name, run, why] of cases) {
    const r = await run;
    t.equal(r.code, 2, name);
    const [first, second, ...rest] = r.stderr.split('\n');
    t.match(first, why, name);
    // A short usage line, not Node's parseArgs text ("To specify a positional argument starting with...").
    t.match(second, /^usage: authward \[--config FILE\]/, `${name}: one usage line`);
    t.same(rest, [''], `${name}: nothing more`);
  }
});

t.test('--version: the version and the Node.js running it, exit 0', async (t) => {
  const r = await runs.version;
  t.equal(r.code, 0);
  const { version } = JSON.parse(readFileSync(repoPath('package.json'), 'utf8'));
  t.equal(r.stdout, `authward ${version} (Node.js ${process.version})\n`);
});

t.test('--help: the usage on stdout, exit 0', async (t) => {
  const r = await runs.help;
  t.equal(r.code, 0);
  t.match(r.stdout, /^usage:/);
});
