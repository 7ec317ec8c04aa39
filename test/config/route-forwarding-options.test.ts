// routes[].forwardHeaders / forwardCookies / public: what the config check refuses, with the field's path.
import t from 'tap';
import { validateConfig } from '../../src/config/validate.js';
import { ConfigError } from '../../src/errors.js';
import { rawConfig } from '../helpers/config.js';

const route = (extra: Record<string, unknown>) => ({
  name: 'api',
  path: '/api',
  target: 'http://127.0.0.1:9/api',
  scopes: ['api://x/.default'],
  ...extra,
});

const problemsOf = (extra: Record<string, unknown>): string[] => {
  try {
    validateConfig(rawConfig({ routes: [route(extra)] }));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

t.test('defaults: allow-list only, no cookies, not public', async (t) => {
  const r = validateConfig(rawConfig({ routes: [route({})] })).routes[0];
  t.same(r?.forwardHeaders, []);
  t.equal(r?.forwardCookies, false);
  t.equal(r?.public, false);
});

t.test('forwardHeaders: names authward owns, strips or replaces are refused', async (t) => {
  t.same(problemsOf({ forwardHeaders: ['X-Api-Key', 'x-csrf-token'] }), []);
  const problems = problemsOf({
    forwardHeaders: ['Cookie', 'authorization', 'Host', 'X-Forwarded-User', 'x_ms_token_aad_x', 'Connection'],
  });
  t.same(problems, [
    'routes[0].forwardHeaders[0]: "Cookie" is never forwarded this way (cookies are chosen with forwardCookies)',
    `routes[0].forwardHeaders[1]: "authorization" is never forwarded this way (the route's own bearer token replaces it)`,
    `routes[0].forwardHeaders[2]: "Host" is never forwarded this way (Host is always the target's)`,
    'routes[0].forwardHeaders[3]: "X-Forwarded-User" is never forwarded this way (authward strips or sets it on every request)',
    'routes[0].forwardHeaders[4]: "x_ms_token_aad_x" is never forwarded this way (authward strips or sets it on every request)',
    'routes[0].forwardHeaders[5]: "Connection" is never forwarded this way (authward strips or sets it on every request)',
  ]);
  t.match(problemsOf({ forwardHeaders: ['bad header'] }), [/^routes\[0\]\.forwardHeaders\[0\]: must match/]);
});

t.test("forwardCookies: true, a list, never authward's own", async (t) => {
  t.same(problemsOf({ forwardCookies: true }), []);
  t.same(problemsOf({ forwardCookies: ['app_session'] }), []);
  t.same(problemsOf({ forwardCookies: ['app_session', 'authward', '__Host-authward', 'authward-tx-1'] }), [
    `routes[0].forwardCookies[1]: "authward" is authward's own cookie, never forwarded`,
    `routes[0].forwardCookies[2]: "__Host-authward" is authward's own cookie, never forwarded`,
    `routes[0].forwardCookies[3]: "authward-tx-1" is authward's own cookie, never forwarded`,
  ]);
  t.match(problemsOf({ forwardCookies: 'yes' }), [
    /^routes\[0\]\.forwardCookies: must be a boolean or an array/,
  ]);
});
