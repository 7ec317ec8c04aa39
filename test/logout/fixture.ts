// What the provider-logout tests share: the test IdP with back-channel logout on, an upstream, Redis if
// asked, authward instances with the logout channels, and the requests the provider makes.
import type { Test } from 'tap';
import { request } from 'undici';
import { newKey } from '../helpers/config.js';
import { startIdp, type TestIdp } from '../helpers/idp.js';
import { type IdpLogout, idpLogout } from '../helpers/idp-logout.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp, type TestApp } from '../helpers/world.js';

export interface LogoutWorld {
  idp: TestIdp;
  logout: IdpLogout;
  redis: TestRedis | undefined;
  /** An authward (same session key each time; the Redis token cache when the world has Redis). */
  start(
    overrides?: Record<string, unknown>,
    deps?: Partial<Parameters<typeof startApp>[0]>,
  ): Promise<TestApp>;
}

export async function logoutWorld(t: Test, opts: { redis?: string } = {}): Promise<LogoutWorld> {
  const logout = idpLogout();
  const idp = await startIdp({ extend: logout.extend });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const redis = opts.redis === undefined ? undefined : await startRedis();
  if (redis) t.teardown(() => redis.stop());
  const keys = [newKey()];
  const tokenCache = redis
    ? { type: 'redis', url: redis.url, keyPrefix: opts.redis, encryptionKeys: [newKey()] }
    : {};
  return {
    idp,
    logout,
    redis,
    async start(overrides = {}, deps = {}) {
      const session = { keys, ...((overrides.session as object) ?? {}) };
      const app = await startApp({
        idp,
        upstreamUrl: upstream.url,
        ...deps,
        overrides: { tokenCache, ...overrides, session },
      });
      t.teardown(() => app.close());
      return app;
    },
  };
}

/** The provider's back-channel call: a form POST of one logout token. */
export async function postLogoutToken(url: string, token: string) {
  const res = await request(`${url}/.auth/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ logout_token: token }).toString(),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}
