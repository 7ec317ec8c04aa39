// Regression: a long deep link went into the login transaction cookie whole; past ~2.5 KB the cookie passed
// the 4096-byte limit browsers enforce, was dropped, and the callback then failed ("started in another browser").
import t from 'tap';
import { request } from 'undici';
import { Browser, signIn } from '../helpers/browser.js';
import { startWorld } from '../helpers/world.js';

t.test('the transaction cookie stays under 4096 bytes whatever the deep link', async (t) => {
  const aw = await startWorld(t, { idp: { mode: 'oidc' } });
  const { idp } = aw;

  for (const n of [100, 1500, 2500, 3000, 3900]) {
    const res = await request(`${aw.url}/report?q=${'a'.repeat(n)}`, {
      headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' },
    });
    await res.body.dump();
    t.equal(res.statusCode, 302);
    const tx = [res.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('authward-tx-')) as string;
    const nameValue = tx.split(';', 1)[0] as string;
    t.ok(nameValue.length <= 4096, `query of ${n} chars: cookie of ${nameValue.length} bytes`);
  }

  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  const short = `${aw.url}/report?q=${'a'.repeat(1500)}`;
  t.equal((await signIn(b, short, { login: 'alice' })).url, short, 'a 1.5 KB deep link is kept whole');
  const b2 = new Browser({ ca: idp.caPem });
  t.teardown(() => b2.close());
  const page = await signIn(b2, `${aw.url}/report?q=${'a'.repeat(3900)}`, { login: 'alice' });
  t.equal(page.status, 200, 'a 4 KB deep link still signs in');
  t.equal(page.url, `${aw.url}/report`, 'and lands on its path (the query did not fit)');
});
