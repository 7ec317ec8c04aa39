// A backend cannot plant (or end) an authward session: a Set-Cookie with one of authward's own cookie
// names is dropped from upstream and route responses; the backend's other cookies pass.
import t from 'tap';
import { startUpstream } from '../helpers/upstream.js';
import { rawSocket, startWorld } from '../helpers/world.js';

const PLANTED = [
  'authward=planted-session; Path=/; HttpOnly',
  ' authward-tx-abc=planted-tx; Path=/',
  'authward-loop=planted-loop',
];

t.test("Set-Cookie of authward's own names never reaches the browser", async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const proxy = await startWorld(t, {
    idp: false,
    public: true,
    upstream: { url: upstream.url },
    config: {
      routes: [{ name: 'r', path: '/r', target: upstream.url, scopes: ['api://x/read'] }],
    },
  });
  const query = [...PLANTED, 'app=1; Path=/', 'authwardx=2']
    .map((c) => `set-cookie=${encodeURIComponent(c)}`)
    .join('&');
  for (const path of [`/set-header?${query}`, `/r/set-header?${query}`]) {
    const res = await rawSocket(
      proxy.port,
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );
    t.equal(res.status, 200, `${path.slice(0, 12)}: 200`);
    const setCookies = res.headers.filter(([n]) => n === 'set-cookie').map(([, v]) => v);
    t.same(setCookies, ['app=1; Path=/', 'authwardx=2'], `${path.slice(0, 12)}: only the backend's own`);
    t.notMatch(JSON.stringify(res.headers), /planted/, `${path.slice(0, 12)}: no planted value`);
  }
  // A single own Set-Cookie (not a list): the header goes away entirely.
  const single = await rawSocket(
    proxy.port,
    `GET /set-header?set-cookie=authward%3Dx HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
  );
  t.equal(single.status, 200);
  t.same(
    single.headers.filter(([n]) => n === 'set-cookie'),
    [],
    'no Set-Cookie left',
  );
});
