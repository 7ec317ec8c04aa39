// Header spoofing: a client's Connection header cannot strip the identity or token headers authward
// injects, and Forwarded / X-Forwarded-* are believed only from the proxies trustProxy names.
import t from 'tap';
import { startApi } from '../helpers/api.js';
import { Browser, signIn } from '../helpers/browser.js';
import { startIdp } from '../helpers/idp.js';
import { type EchoBody, startUpstream } from '../helpers/upstream.js';
import { dechunk, rawRequest, rawSocket, startApp, startWorld } from '../helpers/world.js';

t.test('Connection cannot strip what authward injects', async (t) => {
  const idp = await startIdp({ apiScopes: ['api://orders/read'] });
  t.teardown(() => idp.close());
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const orders = await startApi(idp, { audience: 'api://orders', scope: 'api://orders/read' });
  t.teardown(() => orders.close());
  idp.setUser('alice', { email: 'alice@example.com', groups: ['g1'] });
  const aw = await startApp({
    idp,
    upstreamUrl: upstream.url,
    overrides: {
      routes: [{ name: 'orders', path: '/orders', target: orders.url, scopes: ['api://orders/read'] }],
    },
  });
  t.teardown(() => aw.close());
  const b = new Browser({ ca: idp.caPem });
  t.teardown(() => b.close());
  t.equal((await signIn(b, `${aw.url}/`, { login: 'alice' })).status, 200);
  const cookie = b.cookieHeader(`${aw.url}/`) as string;

  const injected = [
    'x-forwarded-user',
    'x-forwarded-email',
    'x-forwarded-groups',
    'x-forwarded-preferred-username',
    'x-ms-client-principal',
    'x-ms-client-principal-id',
    'x-ms-client-principal-name',
    'x-ms-client-principal-idp',
    'x-forwarded-for',
    'x-request-id',
  ];
  for (const connection of [injected.join(', '), injected.map((n) => n.replace(/-/g, '_')).join(',')]) {
    const res = await rawRequest(aw.url, '/whoami', {
      headers: {
        accept: 'application/json',
        cookie,
        connection,
        'x-forwarded-user': 'mallory',
        'x-ms-client-principal-name': 'mallory@example.com',
      },
    });
    t.equal(res.status, 200);
    const h = (JSON.parse(res.body) as EchoBody).headers;
    t.equal(h['x-forwarded-user'], 'alice', `Connection: ${connection.slice(0, 30)}…: the real user arrives`);
    t.equal(h['x-forwarded-email'], 'alice@example.com');
    t.equal(h['x-forwarded-groups'], 'g1');
    t.equal(h['x-ms-client-principal-name'], idp.claimsFor('alice').preferred_username);
    t.type(h['x-ms-client-principal'], 'string');
    t.equal(h['x-forwarded-for'], '127.0.0.1');
    t.type(h['x-request-id'], 'string');
    t.notOk(JSON.stringify(h).includes('mallory'), 'the forged values are gone');
  }

  // A token route: "Connection: Authorization" must not strip the injected bearer token.
  const res = await rawRequest(aw.url, '/orders/list', {
    headers: {
      accept: 'application/json',
      cookie,
      connection: 'authorization',
      authorization: 'Bearer forged',
    },
  });
  t.equal(res.status, 200);
  const api = orders.requests.at(-1);
  t.equal(api?.claims?.sub, 'alice', 'the API got a valid token for alice');
  t.not(api?.headers.authorization, 'Bearer forged');
});

t.test('Forwarded and X-Forwarded-* count only from the proxies trustProxy names', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const forged = [
    'X-Forwarded-For: 203.0.113.9',
    'X-Forwarded-Proto: https',
    'X-Forwarded-Host: evil.example',
    'X-Forwarded-Port: 8443',
    'X-Real-IP: 203.0.113.9',
    'Forwarded: for=203.0.113.9;host=evil.example;proto=https',
  ];
  const echo = async (port: number) => {
    const res = await rawSocket(
      port,
      `GET /xf HTTP/1.1\r\nHost: app.example\r\n${forged.join('\r\n')}\r\nConnection: close\r\n\r\n`,
    );
    return (JSON.parse(dechunk(res)) as EchoBody).headers;
  };
  // The test client connects from 127.0.0.1: these lists do not name it.
  for (const trustProxy of [false, ['10.0.0.0/8'], ['192.168.1.1', '::1/128']]) {
    const proxy = await startWorld(t, {
      idp: false,
      public: true,
      upstream: { url: upstream.url },
      config: { trustProxy },
    });
    const h = await echo(proxy.port);
    const what = JSON.stringify(trustProxy);
    t.equal(h['x-forwarded-for'], '127.0.0.1', `${what}: the socket address, not the client's claim`);
    t.equal(h['x-forwarded-proto'], 'http', `${what}: the real scheme`);
    t.equal(h['x-forwarded-host'], new URL(proxy.config.publicUrl).host, `${what}: publicUrl’s host`);
    t.notOk('forwarded' in h || 'x-real-ip' in h || 'x-forwarded-port' in h, `${what}: the rest are dropped`);
  }
  // These lists name it: its X-Forwarded-* are believed (Forwarded, X-Real-IP still never pass).
  for (const trustProxy of [['127.0.0.1'], ['127.0.0.0/8', '10.0.0.0/8']]) {
    const proxy = await startWorld(t, {
      idp: false,
      public: true,
      upstream: { url: upstream.url },
      config: { trustProxy },
    });
    const h = await echo(proxy.port);
    const what = JSON.stringify(trustProxy);
    t.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1', `${what}: the chain, the socket appended`);
    t.equal(h['x-forwarded-proto'], 'https', what);
    t.equal(h['x-forwarded-host'], 'evil.example', what);
    t.notOk('forwarded' in h || 'x-real-ip' in h, `${what}: Forwarded and X-Real-IP are dropped`);
  }
});
