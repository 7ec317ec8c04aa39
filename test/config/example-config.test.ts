// config.yaml.example, the documented starting point, loads as it ships (given its two variables).
import t from 'tap';
import { loadConfigFile } from '../../src/config/load.js';
import type { ConfigError } from '../../src/errors.js';
import { newKey } from '../helpers/config.js';
import { repoPath } from '../helpers/repo-root.js';

const example = repoPath('config.yaml.example');

t.test('config.yaml.example passes loadConfigFile', async (t) => {
  const key = newKey();
  const config = loadConfigFile(example, {
    AUTHWARD_CLIENT_SECRET: 'example-secret',
    AUTHWARD_SESSION_KEY: key,
  });
  t.equal(config.identity.clientSecret, 'example-secret');
  t.same(config.session.keys, [key]);
  t.equal(config.routes[0]?.name, 'graph');
  t.equal(config.publicRoutes.length, 2);
});

t.test('without its variables it names both', async (t) => {
  const err = t.throws(() => loadConfigFile(example, {})) as ConfigError;
  t.same(err.problems, [
    'identity.clientSecret: environment variable AUTHWARD_CLIENT_SECRET is not set',
    'session.keys[0]: environment variable AUTHWARD_SESSION_KEY is not set',
  ]);
});
