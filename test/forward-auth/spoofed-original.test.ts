// The headers that describe the original request: a client's copy of the server's own form is replaced by
// the server; a client's copy of another form makes the description ambiguous and is refused; sent
// straight to authward by a peer trustProxy does not name, refused (403).
import t from 'tap';
import { forwardAuthSetup, get } from './harness.js';

const OWN_FORM = { nginx: 'x-original-uri', caddy: 'x-forwarded-uri' } as const;
const OTHER_FORM = { nginx: 'x-forwarded-uri', caddy: 'x-original-uri' } as const;

for (const server of ['nginx', 'caddy'] as const) {
  t.test(`${server}: a spoofed original URI never opens a protected path`, async (t) => {
    const s = await forwardAuthSetup(t, server);
    s.backend.reset();
    const own = await fetch(`${s.front.url}/private/data`, {
      headers: { accept: 'application/json', [OWN_FORM[server]]: '/public/free' },
      redirect: 'manual',
    });
    await own.arrayBuffer();
    t.equal(own.status, 401, `${OWN_FORM[server]} overwritten: judged as /private/data`);
    const other = await fetch(`${s.front.url}/private/data`, {
      headers: {
        accept: 'application/json',
        [OTHER_FORM[server]]: '/public/free',
        'x-original-url': 'http://x/public/free',
      },
      redirect: 'manual',
    });
    await other.arrayBuffer();
    // authward answers 400 (two forms); nginx turns any answer but 2xx/401/403 into its own 500.
    t.equal(other.status, server === 'nginx' ? 500 : 400, 'another form alongside: ambiguous, refused');
    t.equal(s.backend.requests.length, 0, 'the backend never saw either');
  });
}

t.test('straight to authward: only a peer trustProxy names is answered', async (t) => {
  const s = await forwardAuthSetup(t, 'nginx');
  const verify = `${s.authward}/.auth/verify`;
  const spoof = { accept: 'application/json', 'x-forwarded-uri': '/public/free' };
  const untrusted = await get(verify, spoof, '127.0.0.2');
  t.equal(untrusted.status, 403, 'untrusted peer: 403, the headers not believed');
  t.match(JSON.parse(untrusted.body), { error: 'forbidden' });
  t.equal(untrusted.headers['cache-control'], 'no-store');
  t.equal((await get(`${verify}/private/data`, {}, '127.0.0.2')).status, 403, 'the Envoy path form too');
  const trusted = await get(verify, spoof);
  t.equal(trusted.status, 200, 'trusted peer: answered');
  t.equal(trusted.headers['x-forwarded-user'], '', 'a public path vouches for nobody (empty)');
  t.equal(trusted.headers['cache-control'], 'no-store');
  const envoy = await get(`${verify}/private/data`, { accept: 'application/json' });
  t.equal(envoy.status, 401, 'Envoy form: the path after /verify is the original, judged protected');
  t.equal(
    (await get(verify, { 'x-forwarded-uri': '/a/../admin' })).status,
    400,
    'canonical-path rules apply',
  );
  t.equal((await get(verify, {})).status, 400, 'no original request described: 400');
});
