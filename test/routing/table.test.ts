// The route table decides where a canonical path belongs, from the config alone: authward's own paths,
// a token route (longest prefix first, its methods, HEAD with GET) or the default upstream. Decisions
// are start-up objects compared by identity (the guard's router check relies on it).
import { test } from 'tap';
import { OWN_ROUTE, routeTable, UPSTREAM_ROUTE } from '../../src/routing/table.js';
import { testConfig } from '../helpers/config.js';

const route = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
  name,
  path,
  target: 'https://api.test.invalid',
  scopes: [`api://${name}/.default`],
  token: 'app',
  ...extra,
});

const table = routeTable(
  testConfig({
    routes: [
      route('api', '/api/*'),
      route('deep', '/api/deep/*'),
      route('reads', '/reads/*', { methods: ['GET'] }),
    ],
  }),
);

test('own endpoints: the prefix for every method, callback and probes for GET/HEAD only', async (t) => {
  t.equal(table.decide('POST', '/.auth/logout'), OWN_ROUTE);
  t.equal(table.decide('GET', '/.auth/callback'), OWN_ROUTE);
  t.equal(table.decide('GET', '/healthz'), OWN_ROUTE);
  t.equal(table.decide('HEAD', '/readyz'), OWN_ROUTE);
  t.equal(table.decide('POST', '/healthz'), UPSTREAM_ROUTE);
  t.equal(table.decide('GET', '/.auth'), UPSTREAM_ROUTE, 'the prefix itself is not under it');
});

test('token routes: longest prefix first, segment-wise, one object per route', async (t) => {
  const [api, deep] = table.routes;
  t.equal(table.decide('GET', '/api'), api);
  t.equal(table.decide('GET', '/api/x'), api);
  t.equal(table.decide('GET', '/api/deep/x'), deep);
  t.equal(table.decide('GET', '/api2'), UPSTREAM_ROUTE);
  t.same(
    table.routes.map((r) => [r.kind, r.name, r.config.name]),
    [
      ['route', 'api', 'api'],
      ['route', 'deep', 'deep'],
      ['route', 'reads', 'reads'],
    ],
  );
  t.equal(table.decide('GET', '/api/x'), table.decide('POST', '/api/y'), 'the same decision object');
});

test('routes[].methods: other methods go to the upstream; HEAD goes where GET does', async (t) => {
  const reads = table.routes[2];
  t.equal(table.decide('GET', '/reads/x'), reads);
  t.equal(table.decide('HEAD', '/reads/x'), reads);
  t.equal(table.decide('POST', '/reads/x'), UPSTREAM_ROUTE);
});

test('names in logs and metrics come from the decision', async (t) => {
  t.equal(OWN_ROUTE.name, 'authward');
  t.equal(UPSTREAM_ROUTE.name, 'upstream');
  t.ok(Object.isFrozen(OWN_ROUTE) && Object.isFrozen(table.routes[0]));
});
