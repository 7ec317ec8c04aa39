// The pipeline's stages declare what they read from earlier stages: a stage registered without one (or
// before it) stops the app at boot, never a request. Each case names the dependency fastify reports.
import Fastify, { type FastifyPluginCallback } from 'fastify';
import pino from 'pino';
import { test } from 'tap';
import { authPlugin } from '../../src/auth/plugin.js';
import { accessLogStage } from '../../src/metrics/access-log.js';
import { tokenRoutesStage } from '../../src/proxy/token-routes.js';
import { upstreamStage } from '../../src/proxy/upstream.js';
import { guardStage } from '../../src/routing/guard.js';

const cases: [string, unknown, string][] = [
  ['access log without the guard', accessLogStage, 'authward-guard'],
  ['auth without the guard', authPlugin, 'authward-guard'],
  ['token routes without auth', tokenRoutesStage, 'authward-auth'],
  ['default upstream without token routes', upstreamStage, 'authward-token-routes'],
];

for (const [name, stage, missing] of cases) {
  test(`${name}: refused at boot`, async (t) => {
    const app = Fastify();
    // The options are never read: the dependency check runs before the stage does.
    app.register(stage as FastifyPluginCallback, {});
    const err = (await app.ready().then(
      () => undefined,
      (e: unknown) => e,
    )) as { code?: string; message?: string } | undefined;
    t.equal(err?.code, 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED');
    t.match(err?.message, new RegExp(`dependency '${missing}'`));
    await app.close().catch(() => undefined);
  });
}

test('a stage after its dependency boots past the check', async (t) => {
  const app = Fastify();
  app.register(guardStage, { table: { decide: () => undefined as never, routes: [] } });
  app.register(accessLogStage, { logger: pino({ level: 'silent' }), metrics: null });
  await app.ready();
  t.pass('guard then access log: booted');
  await app.close();
});
