// Identity header families are stripped by prefix, not by a list of exact names: a client's
// `X-MS-CLIENT-PRINCIPAL-GROUPS` or `x_ms_token_aad_foo` never reaches the upstream, in any case or spelling.
import t from 'tap';
import { type EchoBody, startUpstream } from '../helpers/upstream.js';
import { dechunk, rawSocket, startWorld } from '../helpers/world.js';

const FORGED = [
  'X-MS-CLIENT-PRINCIPAL-GROUPS',
  'X-MS-CLIENT-PRINCIPAL-ROLES',
  'x-ms-client-principalx',
  'X-MS-TOKEN-AAD-FOO',
  'x_ms_token_aad_foo',
  'X-Ms-Token-Google-Access-Token',
  'X-Forwarded-User-Id',
  'X_Forwarded_User_Name',
  'X-Forwarded-Email-Verified',
  'X-Forwarded-Groups-Extra',
  'X-Forwarded-Preferred-Username-2',
  'X-Forwarded-Access-Token-Expires',
  'X-Auth-Request-Roles',
  'x_auth_request_tenant',
  'X-Authward-Session',
];

t.test('forged identity headers of every family are stripped', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startWorld(t, { idp: false, public: true, upstream: { url: upstream.url } });
  const lines = ['GET /who HTTP/1.1', 'Host: app.example', 'X-Custom-Kept: yes'];
  for (const name of FORGED) lines.push(`${name}: forged-${name.length}`);
  const res = await rawSocket(proxy.port, `${lines.join('\r\n')}\r\nConnection: close\r\n\r\n`);
  t.equal(res.status, 200);
  const echo = JSON.parse(dechunk(res)) as EchoBody;
  const received = echo.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
  for (const name of FORGED) t.notOk(received.includes(name.toLowerCase()), `${name} stripped`);
  t.notMatch(JSON.stringify(echo.rawHeaders), /forged/, 'no forged value arrives under any name');
  t.equal(echo.headers['x-custom-kept'], 'yes', 'an unrelated header passes');
});
