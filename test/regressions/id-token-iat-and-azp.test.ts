// Issue 11 (also seen): an ID token issued in the future, or authorized for another client, is refused (OIDC Core 3.1.3.7).
import t from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { type IdTokenTamper, startIdp } from '../helpers/idp.js';
import { startUpstream } from '../helpers/upstream.js';
import { captureLogger, startApp } from '../helpers/world.js';

const idp = await startIdp();
t.teardown(() => idp.close());
const upstream = await startUpstream();
t.teardown(() => upstream.close());
const { logger, lines } = captureLogger('info');
const aw = await startApp({ idp, upstreamUrl: upstream.url, overrides: {}, logger });
t.teardown(() => aw.close());
const clientId = idp.clients.secret.clientId;

const browsers: Browser[] = [];
t.teardown(() => Promise.all(browsers.map((b) => b.close())));
async function attempt(tamper?: IdTokenTamper) {
  if (tamper) idp.tamperNextIdToken(tamper);
  const b = new Browser({ ca: idp.caPem });
  browsers.push(b);
  const { status } = await signIn(b, `${aw.url}/`, { login: 'alice' });
  const me = await b.fetch(`${aw.url}/.auth/me`);
  return { status, signedIn: me.status === 200 };
}
const reasons = () => lines.filter((l) => l.event === 'sign_in_failed').map((l) => String(l.reason));

t.test('iat beyond clockSkew in the future: refused, with the reason in the log', async (t) => {
  const before = reasons().length;
  const r = await attempt(({ payload }) => ({
    payload: { ...payload, iat: Number(payload.iat) + 86_400 }, // a day ahead; exp and nbf untouched
    signWith: 'idp-key',
  }));
  t.equal(r.status, 400, 'refused');
  t.notOk(r.signedIn, 'no session');
  t.match(reasons().slice(before), [/iat .*in the future/], 'the log says why');
});

t.test('iat within clockSkew in the future: accepted', async (t) => {
  const r = await attempt(({ payload }) => ({
    payload: { ...payload, iat: Number(payload.iat) + 60 },
    signWith: 'idp-key',
  }));
  t.equal(r.status, 200);
  t.ok(r.signedIn);
});

t.test('azp naming another client: refused, even with our client in aud', async (t) => {
  const before = reasons().length;
  for (const aud of [[clientId, 'other-client'], clientId]) {
    const r = await attempt(({ payload }) => ({
      payload: { ...payload, aud, azp: 'other-client' },
      signWith: 'idp-key',
    }));
    t.equal(r.status, 400, `aud ${JSON.stringify(aud)}: refused`);
    t.notOk(r.signedIn);
  }
  t.match(reasons().slice(before), [/azp/, /azp/]);
});

t.test('several audiences and no azp: refused', async (t) => {
  const r = await attempt(({ payload }) => {
    const { azp: _azp, ...rest } = payload;
    return { payload: { ...rest, aud: [clientId, 'other-client'] }, signWith: 'idp-key' };
  });
  t.equal(r.status, 400);
  t.notOk(r.signedIn);
});

t.test('controls: azp equal to our client, with one or several audiences, signs in', async (t) => {
  for (const aud of [[clientId, 'other-client'], clientId]) {
    const r = await attempt(({ payload }) => ({
      payload: { ...payload, aud, azp: clientId },
      signWith: 'idp-key',
    }));
    t.equal(r.status, 200, `aud ${JSON.stringify(aud)}`);
    t.ok(r.signedIn);
  }
  t.equal((await attempt()).status, 200, 'untampered');
});
