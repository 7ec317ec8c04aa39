// /readyz is answered to anyone: it names each dependency's state only (`provider: down`). The error
// behind it (an internal discovery URL, `connect ECONNREFUSED 10.x.y.z:6379`) goes to the log and the
// metrics (authward_dependency_up), never into the probe's body.
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { newKey, testConfig } from '../helpers/config.js';
import { closedPort, freePort } from '../helpers/ports.js';
import { captureLogger } from '../helpers/world.js';

t.test('provider and token store down: states in /readyz, detail in the log', async (t) => {
  const idpPort = await closedPort();
  const redisPort = await closedPort();
  const port = await freePort();
  const { logger, lines } = captureLogger('info');
  const app = await buildApp(
    testConfig({
      listen: { host: '127.0.0.1', port },
      publicUrl: `http://127.0.0.1:${port}`,
      identity: { authority: `https://127.0.0.1:${idpPort}/internal-idp`, timeout: 2 },
      tokenCache: {
        type: 'redis',
        url: `redis://127.0.0.1:${redisPort}`,
        encryptionKeys: [newKey()],
        connectTimeout: 2,
      },
    }),
    { logger },
  );
  t.teardown(() => app.close());
  await app.listen({ host: '127.0.0.1', port });
  // Both failures are logged before /readyz is asked: wait on those lines (the events), not on time.
  const logged = (event: string) =>
    lines.find((l) => l.event === event && /ECONNREFUSED/.test(JSON.stringify(l)));
  while (!logged('discovery_failed') || !logged('token_store')) await new Promise((r) => setTimeout(r, 20));

  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  const text = await res.text();
  t.equal(res.status, 503);
  t.same(JSON.parse(text), {
    status: 'starting',
    waitingFor: ['provider discovery'],
    dependencies: { provider: { state: 'down' }, tokenStore: { state: 'down' } },
  });
  for (const leak of [
    'ECONNREFUSED',
    '127.0.0.1',
    'internal-idp',
    String(idpPort),
    String(redisPort),
    'http',
  ]) {
    t.notOk(text.includes(leak), `no ${leak} in the body`);
  }
  t.match(JSON.stringify(logged('discovery_failed')), /internal-idp/, 'the log names the discovery URL');
  t.match(JSON.stringify(logged('token_store')), new RegExp(`127\\.0\\.0\\.1:${redisPort}`), 'and the store');
});
