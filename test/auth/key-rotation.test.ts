// Provider key rotation: a new signing key is fetched at once (rate-limited), so no sign-in is refused.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import t from 'tap';
import type { Discovery } from '../../src/tokens/discovery.js';
import { idTokenVerifier } from '../../src/tokens/id-token.js';
import { MIN_REFETCH_MS } from '../../src/tokens/jwks.js';
import { createProviderHttp } from '../../src/tokens/network.js';
import { Browser, signIn } from '../helpers/browser.js';
import { testConfig } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, identityFor, startApp } from '../helpers/world.js';

const idp = await startIdp();
t.teardown(() => idp.close());
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const { logger, lines } = captureLogger('info');
const aw = await startApp({ idp, upstreamUrl: upstream.url, logger });
t.teardown(() => aw.close());

const browsers: Browser[] = [];
t.teardown(() => Promise.all(browsers.map((b) => b.close())));
const signInAs = async (login: string) => {
  const b = new Browser({ ca: idp.caPem });
  browsers.push(b);
  return (await signIn(b, `${aw.url}/`, { login })).status;
};
const failures = () => lines.filter((l) => l.event === 'sign_in_failed').map((l) => String(l.reason));

t.test('a rotation in the middle of a sign-in burst refuses nobody', async (t) => {
  t.equal(await signInAs('warm-up'), 200, 'the key set is loaded');
  const jwksBefore = idp.counters.jwks;
  let done = 0;
  let fourDone: () => void = () => undefined;
  const fourDonePromise = new Promise<void>((r) => {
    fourDone = r;
  });
  const track = (p: Promise<number>) =>
    p.then((status) => {
      if (++done === 4) fourDone();
      return status;
    });
  const first = Array.from({ length: 8 }, (_, i) => track(signInAs(`before-${i}`)));
  await fourDonePromise;
  const kid = await idp.rotateSigningKey(); // some of the first wave are still signing in
  const second = Array.from({ length: 8 }, (_, i) => track(signInAs(`after-${i}`)));
  const statuses = await Promise.all([...first, ...second]);
  t.same(statuses, Array(16).fill(200), 'all 16 sign-ins succeed');
  t.same(failures(), [], 'no sign-in failed');
  const refetch = lines.filter((l) => l.event === 'jwks_refetch');
  t.ok(refetch.length >= 1, 'the new key was fetched');
  t.match(String(refetch[0]?.msg), /unknown key/, 'the log says the key was unknown');
  t.match(String(refetch[0]?.msg), new RegExp(kid), 'and names it');
  t.ok(idp.counters.jwks - jwksBefore <= refetch.length, 'one fetch per miss at most');
  t.equal(await signInAs('later'), 200, 'sign-ins go on with the new key');
});

t.test('a key the provider really does not have: refused, named as unknown', async (t) => {
  idp.tamperNextIdToken(({ payload }) => ({ payload, header: { kid: 'nobody' }, signWith: 'other-key' }));
  t.equal(await signInAs('forged'), 400);
  t.match(failures().at(-1), /unknown key kid "nobody", also after refetching/);
});

t.test('refetches are shared and rate-limited', async (t) => {
  const config = testConfig({ identity: identityFor(idp) });
  const http = createProviderHttp({ caFile: idp.caFile, timeoutSeconds: 10 });
  t.teardown(() => http.close());
  const verify = idTokenVerifier(config.identity, idp.discovery as Discovery, http);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forged = (kid: string) =>
    new SignJWT({ nonce: 'n' })
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(idp.issuer)
      .setAudience(config.identity.clientId)
      .setSubject('mallory')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);

  const start = idp.counters.jwks;
  const tokens = await Promise.all(Array.from({ length: 20 }, (_, i) => forged(`made-up-${i}`)));
  const results = await Promise.allSettled(tokens.map((tok) => verify(tok, 'n')));
  t.ok(
    results.every((r) => r.status === 'rejected'),
    'all refused',
  );
  // The first load, then one refetch that all 20 misses share.
  t.equal(idp.counters.jwks - start, 2, '20 simultaneous misses: one refetch');

  const sequential = idp.counters.jwks;
  const t0 = performance.now();
  for (let i = 0; i < 4; i++) await verify(await forged(`again-${i}`), 'n').catch(() => undefined);
  t.equal(idp.counters.jwks - sequential, 4, 'each later miss gets a fetch of its own');
  t.ok(
    // Four fetches, each at least MIN_REFETCH_MS after the one before (less 1 ms per gap: Date.now rounds).
    performance.now() - t0 >= 3 * (MIN_REFETCH_MS - 1),
    `never more than one fetch per ${MIN_REFETCH_MS} ms`,
  );
});
