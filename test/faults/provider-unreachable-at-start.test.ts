// The provider unreachable when authward starts: it starts anyway, says why it is not ready, retries with a
// growing delay, and becomes ready by itself once the provider is there.
import t from 'tap';
import { request } from 'undici';
import { buildApp } from '../../src/app.js';
import { Browser, signIn } from '../helpers/browser.js';
import { testConfig } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, identityFor } from '../helpers/world.js';

const idp = await startIdp();
t.teardown(() => idp.close());
await idp.stop(); // the provider is down (connection refused) before authward starts
const upstream = await startUpstream();
t.teardown(() => upstream.close());

const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const { logger, lines } = captureLogger('info');
const app = await buildApp(
  testConfig({
    listen: { host: '127.0.0.1', port },
    publicUrl: url,
    identity: identityFor(idp, { timeout: 2 }),
    upstream: { url: upstream.url },
  }),
  { logger },
);
t.teardown(() => app.close());
const startedAt = Date.now();
await app.listen({ host: '127.0.0.1', port });

const failures = () => lines.filter((l) => l.event === 'discovery_failed');
async function readyz() {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

t.test('down at start: alive, not ready, the reason names the provider', async (t) => {
  while (failures().length === 0) await new Promise((r) => setTimeout(r, 20));
  t.equal((await fetch(`${url}/healthz`)).status, 200, 'the process is up and alive');
  const r = await readyz();
  t.equal(r.status, 503, '/readyz: 503');
  t.match(r.body, {
    status: 'starting',
    waitingFor: ['provider discovery'],
    dependencies: { provider: { state: 'down' } },
  });
  t.notMatch(JSON.stringify(r.body), /ECONNREFUSED|well-known/, 'no detail in the public probe');
  t.match(
    String(failures()[0]?.msg),
    `cannot load the provider's discovery document ${idp.issuer}/.well-known/openid-configuration: ECONNREFUSED`,
    'the log says why',
  );
  // undici.request, not fetch: fetch sends its own Sec-Fetch-Mode (cors), no navigation does.
  const nav = await request(`${url}/app`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
  const text = await nav.body.text();
  t.equal(nav.statusCode, 503, 'a browser wanting to sign in gets a 503 page, not a 500 or a hang');
  t.match(text, /identity provider unavailable/);
});

t.test('retries with a growing delay, then ready once the provider appears', async (t) => {
  while (failures().length < 2) await new Promise((r) => setTimeout(r, 20));
  const f = failures();
  // Backoff 1 s, 2 s, ... each jittered down to between half and all of it.
  const [wait1 = 0, wait2 = 0] = f.map(
    (l) => Number(/; retrying in ([\d.]+) s$/.exec(String(l.msg))?.[1]) * 1000,
  );
  t.ok(wait1 >= 500 && wait1 <= 1000, `first wait ${wait1} ms (1 s, jittered)`);
  t.ok(wait2 >= 1000 && wait2 <= 2000, `second wait ${wait2} ms (2 s, jittered)`);
  // Lower bounds only: a loaded machine may retry later than announced, never sooner.
  const firstGap = Number(f[1]?.time) - Number(f[0]?.time);
  t.ok(firstGap >= wait1 - 50, `first retry ${firstGap} ms after the first attempt (announced ${wait1})`);

  await idp.start();
  const appearedAt = Date.now();
  while ((await readyz()).status !== 200) await new Promise((r) => setTimeout(r, 50));
  const r = await readyz();
  t.equal(r.status, 200, `ready ${Date.now() - appearedAt} ms after the provider appeared`);
  t.match(r.body, { status: 'ready', waitingFor: [], dependencies: { provider: { state: 'up' } } });
  const loaded = lines.find((l) => l.event === 'discovery');
  const all = failures();
  t.ok(
    all.every((l) => Number(l.time) <= Number(loaded?.time)),
    'no failure after the discovery document loaded',
  );
  // The attempt that succeeded came no sooner than the last failure announced (the delay grows: wait2 > wait1).
  const last = all.at(-1);
  const lastWait = Number(/; retrying in ([\d.]+) s$/.exec(String(last?.msg))?.[1]) * 1000;
  const secondGap = Number(loaded?.time) - Number(last?.time);
  t.ok(secondGap >= lastWait - 50, `the next attempt ${secondGap} ms later (announced ${lastWait})`);
  t.comment(`${Date.now() - startedAt} ms from start to ready`);

  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  const page = await signIn(browser, `${url}/after`, { login: 'late' });
  t.equal(page.status, 200, 'sign-in works');
  t.equal(page.url, `${url}/after`);
});
