// Client credentials other than a secret: a certificate, and a client assertion file that is re-read on every use.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { startApp } from '../helpers/world.js';

for (const mode of ['oidc', 'aad'] as const) {
  t.test(`${mode}: sign-in with a certificate or a client assertion file`, async (t) => {
    const idp = await startIdp({ mode });
    t.teardown(() => idp.close());
    const upstream = await startUpstream();
    t.teardown(() => upstream.close());
    const dir = await mkdtemp(join(tmpdir(), 'authward-cred-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));

    const signInOnce = async (url: string, login: string) => {
      const b = new Browser({ ca: idp.caPem });
      t.teardown(() => b.close());
      const page = await signIn(b, `${url}/who`, { login });
      const me = await b.fetch(`${url}/.auth/me`);
      await me.arrayBuffer();
      return { status: page.status, signedIn: me.status === 200, body: page.body };
    };

    await t.test('client certificate', async (t) => {
      const certificateFile = join(dir, 'client.crt');
      const privateKeyFile = join(dir, 'client.key');
      await writeFile(certificateFile, idp.clients.cert.certPem);
      await writeFile(privateKeyFile, idp.clients.cert.keyPem);
      const aw = await startApp({
        idp,
        upstreamUrl: upstream.url,
        overrides: {
          identity: {
            clientId: idp.clients.cert.clientId,
            clientSecret: undefined,
            clientCertificate: { certificateFile, privateKeyFile },
          },
        },
      });
      t.teardown(() => aw.close());
      t.equal(aw.config.identity.clientSecret, undefined, 'no secret configured');
      const before = idp.counters.authorizationCode;
      const r = await signInOnce(aw.url, 'alice');
      t.equal(r.status, 200);
      t.ok(r.signedIn, 'signed in with the certificate');
      t.equal(idp.counters.authorizationCode, before + 1, 'the code was redeemed with it');
      t.equal(JSON.parse(r.body).path, '/who');
    });

    await t.test('client assertion file, re-read on every use', async (t) => {
      const clientAssertionFile = join(dir, 'assertion.jwt');
      await writeFile(clientAssertionFile, `${await idp.clients.assertion.makeAssertion()}\n`);
      const aw = await startApp({
        idp,
        upstreamUrl: upstream.url,
        overrides: {
          identity: {
            clientId: idp.clients.assertion.clientId,
            clientSecret: undefined,
            clientAssertionFile,
          },
        },
      });
      t.teardown(() => aw.close());
      const first = await signInOnce(aw.url, 'alice');
      t.equal(first.status, 200);
      t.ok(first.signedIn, 'signed in with the first assertion');

      // The platform rotates the file: an expired token there now must make redemption fail...
      await writeFile(
        clientAssertionFile,
        await idp.clients.assertion.makeAssertion({ expiresInSeconds: -60 }),
      );
      const errorsBefore = idp.counters.tokenErrors;
      const stale = await signInOnce(aw.url, 'bob');
      t.not(stale.status, 200, `an expired assertion in the file: no sign-in (${stale.status})`);
      t.notOk(stale.signedIn);
      t.equal(idp.counters.tokenErrors, errorsBefore + 1, 'the provider refused the client');

      // ...and a fresh one must work again, without a restart.
      await writeFile(clientAssertionFile, await idp.clients.assertion.makeAssertion());
      const fresh = await signInOnce(aw.url, 'carol');
      t.equal(fresh.status, 200);
      t.ok(fresh.signedIn, 'signed in with the rotated assertion');
    });
  });
}
