// apiClients is off by default, and the config check refuses the combinations that would let any caller in.
import t from 'tap';
import { ConfigError } from '../../src/errors.js';
import { testConfig } from '../helpers/config.js';

const problems = (overrides: Record<string, unknown>) => {
  try {
    testConfig(overrides);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

t.equal(testConfig().apiClients.enabled, false, 'off by default');
t.match(
  problems({ apiClients: { enabled: true } }).join('\n'),
  /apiClients\.requiredScopes: at least one scope/,
);
t.match(
  problems({ apiClients: { enabled: true, requiredScopes: ['access'], allowAppOnly: true } }).join('\n'),
  /apiClients\.allowedRoles: at least one role is required with allowAppOnly/,
);
t.match(
  problems({ apiClients: { enabled: true, requiredScopes: ['access'], algorithms: ['HS256'] } }).join('\n'),
  /apiClients\.algorithms/,
  'no symmetric algorithm can be allowed',
);
t.match(
  problems({
    identity: { clientSecret: undefined, clientAssertionFile: '/run/secrets/assertion' },
    apiClients: { enabled: true, requiredScopes: ['access'] },
    routes: [
      { name: 'orders', path: '/api', target: 'https://orders.invalid', scopes: ['api://orders/read'] },
    ],
  }).join('\n'),
  /identity\.clientSecret: apiClients with token: user routes \(orders\) in oidc mode need a client secret/,
);
t.same(
  problems({ apiClients: { enabled: true, requiredScopes: ['access'] } }),
  [],
  'a complete section passes',
);
t.equal(testConfig().apiClients.introspection.enabled, false, 'introspection off by default');
t.match(
  problems({
    identity: { clientSecret: undefined, clientAssertionFile: '/run/secrets/assertion' },
    apiClients: { enabled: true, requiredScopes: ['access'], introspection: { enabled: true } },
  }).join('\n'),
  /identity\.clientSecret: apiClients\.introspection authenticates to the provider with the client secret/,
);
