// TLS to a route's target is verified: an unknown CA (or a wrong name) is a generic 502, a configured caFile works.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { createTestTls } from '../helpers/tls.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp, XHR } from '../helpers/world.js';

t.test('https targets: verified against system CAs plus caFile', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const tls = await createTestTls(); // a private CA nobody trusts unless told, and a 127.0.0.1 cert
  t.teardown(() => tls.cleanup());
  const wrongName = await tls.issue({ name: 'wrong-name', hosts: ['other.invalid'] });
  const api = await startApi(idp, {
    audience: 'api://orders',
    scope: 'api://orders/read',
    tls: { cert: tls.certPem, key: tls.keyPem },
  });
  t.teardown(() => api.close());
  const misnamed = await startApi(idp, {
    audience: 'api://orders',
    tls: { cert: wrongName.certPem, key: wrongName.keyPem },
  });
  t.teardown(() => misnamed.close());
  t.match(api.url, /^https:/);

  const scopes = ['api://orders/read'];
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      routes: [
        { name: 'untrusted', path: '/api/untrusted', target: api.url, scopes },
        { name: 'trusted', path: '/api/trusted', target: api.url, scopes, caFile: tls.caFile },
        { name: 'misnamed', path: '/api/misnamed', target: misnamed.url, scopes, caFile: tls.caFile },
      ],
    },
  });
  t.teardown(() => aw.close());
  const browser = new Browser({ ca: idp.caPem });
  t.teardown(() => browser.close());
  t.equal((await signIn(browser, `${aw.url}/`, { login: 'olga' })).status, 200, 'signed in');

  const internals = /certificate|self[- ]signed|UNABLE_TO|ERR_|issuer|127\.0\.0\.1|other\.invalid|altname/i;

  const untrusted = await browser.fetch(`${aw.url}/api/untrusted/x`, { headers: XHR });
  t.equal(untrusted.status, 502, 'a certificate from an unknown CA is refused');
  const text = await untrusted.text();
  t.match(
    JSON.parse(text),
    { error: 'upstream_unavailable', message: 'upstream unavailable' },
    'generic body',
  );
  t.notMatch(text, internals, 'no TLS or address details');
  t.equal(api.requests.length, 0, 'the token never reached an unverified server');

  const misnamedRes = await browser.fetch(`${aw.url}/api/misnamed/x`, { headers: XHR });
  t.equal(misnamedRes.status, 502, 'a trusted CA but a certificate for another name is refused');
  t.notMatch(await misnamedRes.text(), internals);
  t.equal(misnamed.requests.length, 0);

  const trusted = await browser.fetch(`${aw.url}/api/trusted/x?y=1`, { headers: XHR });
  t.equal(trusted.status, 200, 'with caFile the same server is trusted');
  t.equal(api.requests.at(-1)?.url, '/x?y=1');
  t.equal(api.requests.at(-1)?.claims?.sub, 'olga', 'and gets the token');

  const again = await browser.fetch(`${aw.url}/api/untrusted/x`, { headers: XHR });
  t.equal(again.status, 502, "one route's caFile does not make another route trust the CA");
  await again.arrayBuffer();
  t.equal(api.requests.length, 1);
});
