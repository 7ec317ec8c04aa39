// Bad config files: each problem is reported with its path and what was expected, all of them at once.
import t, { type Test } from 'tap';
import { stringify } from 'yaml';
import { loadConfigText } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { rawConfig } from '../helpers/config.js';

type Raw = Record<string, unknown>;

/** The problems loadConfigText reports for this YAML text (fails the test if it loads). */
function problemsOf(t: Test, text: string): string[] {
  try {
    loadConfigText(text, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  t.fail('config was accepted');
  return [];
}

/** YAML for a valid config changed by `edit`. */
function yamlWith(edit: (c: Raw) => void, overrides: Raw = {}): string {
  const c = rawConfig(overrides);
  edit(c);
  return stringify(c);
}
const yamlOf = (overrides: Raw) => yamlWith(() => {}, overrides);
const section = (c: Raw, key: string) => c[key] as Raw;

const key = 'qUuqXqrSS9x0YKoBNvQ1WbG0TWB0PXqjD1uHFpqAJ4k=';
const route = (name: string, path: string) => ({
  name,
  path,
  target: 'http://127.0.0.1:9/api',
  scopes: ['api://x/.default'],
});

const cases: { name: string; yaml: string; expect: (string | RegExp)[] }[] = [
  {
    name: 'relative upstream URL',
    yaml: yamlOf({ upstream: { url: 'localhost:3000' } }),
    expect: ['upstream.url: must be an absolute http(s) URL, got "localhost:3000"'],
  },
  {
    name: 'unknown key, with a did-you-mean',
    yaml: yamlOf({ listen: { prot: 8080 } }),
    expect: ['listen.prot: unknown key (did you mean "port"?)'],
  },
  {
    name: 'unknown top-level section, with a did-you-mean',
    yaml: yamlOf({ upstreams: { url: 'http://127.0.0.1:3000' } }),
    expect: ['upstreams: unknown key (did you mean "upstream"?)'],
  },
  {
    name: 'wrong type',
    yaml: yamlOf({ listen: { port: 'eighty' } }),
    expect: ['listen.port: must be an integer, got "eighty"'],
  },
  {
    name: 'value outside an enum',
    yaml: yamlOf({ tokenCache: { type: 'mongo' } }),
    expect: ['tokenCache.type: must be one of "memory", "redis", got "mongo"'],
  },
  {
    name: 'missing required identity.clientId',
    yaml: yamlWith((c) => delete section(c, 'identity').clientId),
    expect: ['identity.clientId: is required'],
  },
  {
    name: 'no client credential',
    yaml: yamlWith((c) => delete section(c, 'identity').clientSecret),
    expect: [/^identity: exactly one client credential must be given .*, got none$/],
  },
  {
    name: 'two client credentials',
    yaml: yamlOf({ identity: { clientAssertionFile: '/var/run/token' } }),
    expect: [/^identity: exactly one client credential .*, got clientSecret and clientAssertionFile$/],
  },
  {
    name: 'redis without url and encryptionKeys',
    yaml: yamlOf({ tokenCache: { type: 'redis' } }),
    expect: [
      'tokenCache: type redis needs exactly one of url, sentinels (with name) or cluster, got none',
      /^tokenCache\.encryptionKeys: is required for type redis/,
    ],
  },
  {
    name: 'duplicate route names',
    yaml: yamlOf({ routes: [route('api', '/api'), route('api', '/other')] }),
    expect: ['routes[1].name: "api" is used by another route'],
  },
  {
    name: 'overlapping route paths',
    yaml: yamlOf({ routes: [route('one', '/api'), route('two', '/api/*')] }),
    expect: ['routes[1].path: "/api/*" overlaps route "one"'],
  },
  {
    name: 'route under authward’s own /.auth endpoints',
    yaml: yamlOf({ routes: [route('auth', '/.auth/api')] }),
    expect: [/^routes\[0\]\.path: "\/\.auth\/api" overlaps authward's own endpoints/],
  },
  {
    name: 'route covering a health probe',
    yaml: yamlOf({ routes: [route('health', '/healthz')] }),
    expect: [/^routes\[0\]\.path: "\/healthz" overlaps authward's own endpoints/],
  },
  {
    name: 'publicUrl with a path',
    yaml: yamlOf({ publicUrl: 'https://app.example.com/app' }),
    expect: ['publicUrl: must be an origin only (scheme, host, port), got "https://app.example.com/app"'],
  },
  {
    name: 'YAML syntax error',
    yaml: 'listen:\n  port: 8080\n   host: x\nupstream: [\n',
    expect: [
      'YAML syntax (line 2, column 9): Nested mappings are not allowed in compact mappings',
      /^YAML syntax \(line 5, column 1\): Flow sequence in block collection must be sufficiently indented/,
    ],
  },
  {
    name: 'a list at the root',
    yaml: '- listen\n- upstream\n',
    expect: [/^the config file must be a YAML mapping of sections/],
  },
  {
    name: 'a scalar at the root',
    yaml: 'just some text\n',
    expect: [/^the config file must be a YAML mapping of sections/],
  },
  {
    name: 'duplicate YAML keys',
    yaml: `${yamlOf({})}upstream:\n  url: http://127.0.0.1:3000\n`,
    expect: [/^YAML syntax \(line \d+, column 1\): Map keys must be unique$/],
  },
  {
    name: 'an empty file: the required fields of defaulted sections',
    yaml: '',
    expect: ['publicUrl: is required', 'identity.clientId: is required', 'upstream.url: is required'],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const problems = problemsOf(t, c.yaml);
    for (const e of c.expect) {
      t.ok(
        problems.some((p) => (typeof e === 'string' ? p === e : e.test(p))),
        `reports ${e}`,
        { problems },
      );
    }
  });
}

t.test('a bad session key is reported without its value', async (t) => {
  const bad = 'c2VjcmV0LWJ1dC10b28tc2hvcnQ';
  const problems = problemsOf(t, yamlOf({ session: { keys: [key, bad] } }));
  const p = problems.find((p) => p.startsWith('session.keys[1]:'));
  t.ok(p, 'names the key by its index', { problems });
  t.match(p, /must be a base64-encoded 32-byte key/);
  t.match(p, '(hidden)');
  t.notOk(problems.join('\n').includes(bad), 'the value is not printed');
  t.notOk(problems.join('\n').includes(key), 'nor the valid key beside it');
});

t.test('a secret of the wrong type is reported without its value', async (t) => {
  const problems = problemsOf(t, yamlOf({ identity: { clientSecret: 123456789 } }));
  t.same(problems, ['identity.clientSecret: must be a string, got (hidden)']);
});

t.test('every problem is reported at once', async (t) => {
  const yaml = yamlOf({
    upstream: { url: 'localhost:3000' },
    listen: { port: 'eighty' },
    logging: { level: 'loud' },
  });
  const problems = problemsOf(t, yaml);
  t.same(problems.toSorted(), [
    'listen.port: must be an integer, got "eighty"',
    'logging.level: must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "loud"',
    'upstream.url: must be an absolute http(s) URL, got "localhost:3000"',
  ]);
});

t.test('the error message lists every problem, one a line', async (t) => {
  const err = t.throws(() =>
    loadConfigText(yamlOf({ upstream: { url: 'ftp://x' }, listen: { port: -1 } }), {}),
  ) as ConfigError;
  t.equal(err.name, 'ConfigError');
  t.equal(err.message.split('\n')[0], 'invalid configuration:');
  t.equal(err.message.split('\n').length, 1 + err.problems.length);
  t.equal(err.problems.length, 2);
});
