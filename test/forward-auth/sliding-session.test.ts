// The session's idle clock behind the server: verify re-issues the session cookie on activity (at most
// every idleTimeout/10), and the server hands that Set-Cookie to the client, so an active user stays
// signed in past session.idleTimeout (nginx: add_header; caddy: the Caddyfile's handle_response).
import t from 'tap';
import { signIn } from '../helpers/browser.js';
import { forwardAuthSetup } from './harness.js';

const IDLE = 10; // seconds: the cookie is re-issued once a request comes more than 1 s after the last

for (const server of ['nginx', 'caddy'] as const) {
  t.test(`${server}: verify's refreshed session cookie reaches the client`, async (t) => {
    const s = await forwardAuthSetup(t, server, { session: { idleTimeout: IDLE } });
    t.equal((await signIn(s.browser, `${s.front.url}/`, { login: 'alice' })).status, 200, 'signed in');
    const before = s.browser.cookies(s.front.url).find((c) => c.name.endsWith('authward'));
    t.ok(before, 'a session cookie');
    // The rule's own threshold, not a margin: `seen` is whole seconds, so 2 s after sign-in the next
    // request is more than idleTimeout/10 (1 s) after it.
    await new Promise((r) => setTimeout(r, 2000));

    // The backend answers with two cookies of its own: they and authward's reach the client.
    let issuedAt = Date.now(); // the re-issue below happens during this request: `seen` is no earlier
    const res = await s.browser.fetch(`${s.front.url}/set-cookies`, {
      headers: { accept: 'application/json' },
    });
    await res.arrayBuffer();
    t.equal(res.status, 200);
    const set = res.headers.getSetCookie().filter((c) => c.startsWith(`${before?.name}=`));
    t.equal(set.length, 1, 'one Set-Cookie for the session cookie, from verify through the server');
    t.match(set[0], /; HttpOnly/i, "authward's cookie, attributes intact");
    t.same(
      res.headers.getSetCookie().filter((c) => !c.startsWith(`${before?.name}=`)),
      ['a=1', 'b=2'],
      "the backend's own cookies too",
    );
    const after = s.browser.cookies(s.front.url).find((c) => c.name === before?.name);
    t.not(after?.value, before?.value, 'the browser holds the re-issued cookie');
    t.equal(s.backend.lastRequest?.url, '/set-cookies', 'and the backend answered the request');
    t.notOk(
      s.backend.lastRequest?.headers['set-cookie'],
      'the backend never sees a Set-Cookie request header',
    );

    // The rule is `now - seen > idleTimeout/10` with `seen` in whole seconds: a request that ends within
    // the whole second in which the cookie was re-issued is never re-issued again. A request that
    // crossed into the next second may rightly be (then the pair after it is checked): the check
    // follows the rule's clock instead of hoping two requests fall within one second.
    for (let pair = 1; ; pair++) {
      const start = Date.now();
      const next = await s.browser.fetch(`${s.front.url}/next`, { headers: { accept: 'application/json' } });
      await next.arrayBuffer();
      t.equal(next.status, 200, 'the re-issued cookie is a live session');
      if (Date.now() < (Math.floor(issuedAt / 1000) + 1) * 1000) {
        t.same(
          next.headers.getSetCookie(),
          [],
          'not re-issued within idleTimeout/10: no Set-Cookie at all (caddy: no placeholder text either)',
        );
        break;
      }
      const again = next.headers.getSetCookie();
      t.ok(
        again.every((c) => c.startsWith(`${before?.name}=`) && /; HttpOnly/i.test(c)),
        'past the threshold, only a re-issued session cookie (caddy: no placeholder text either)',
      );
      if (again.length > 0) issuedAt = start;
      if (pair === 50) throw new Error('no request fell within the second of a re-issue in 50 tries');
    }
  });
}
