// The provider's traffic goes through the outbound proxy it is given (HTTP CONNECT, NO_PROXY honoured), and only that one: tokens/ reads no environment itself.
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect } from 'node:net';
import t from 'tap';
import { createProviderHttp, outboundProxy } from '../../src/tokens/network.js';
import { createTestTls } from '../helpers/tls.js';

const tls = await createTestTls();
t.teardown(() => tls.cleanup());

// The "provider": an HTTPS server with the test CA's certificate.
const provider = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"ok":true}');
});
provider.listen(0, '127.0.0.1');
await once(provider, 'listening');
const target = `127.0.0.1:${(provider.address() as AddressInfo).port}`;

// A real forward proxy: it answers CONNECT by tunnelling to the target, and remembers what was asked.
const tunnels: string[] = [];
const proxy = createHttpServer((_req, res) => res.writeHead(405).end());
proxy.on('connect', (req, client, head) => {
  tunnels.push(String(req.url));
  const [host, port] = String(req.url).split(':');
  const upstream = connect(Number(port), host as string, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
  client.on('error', () => upstream.destroy());
});
proxy.listen(0, '127.0.0.1');
await once(proxy, 'listening');
const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
t.teardown(() => {
  provider.closeAllConnections();
  proxy.closeAllConnections();
  provider.close();
  proxy.close();
});

async function fetchThrough(p: ReturnType<typeof outboundProxy>): Promise<string[]> {
  tunnels.length = 0;
  const http = createProviderHttp({ caFile: tls.caFile, timeoutSeconds: 10, proxy: p });
  try {
    const res = await http.fetch(`https://${target}/.well-known/openid-configuration`);
    t.same(await res.json(), { ok: true }, 'the provider answered');
  } finally {
    await http.close();
  }
  return [...tunnels];
}

t.test('HTTPS_PROXY given: the request is tunnelled through it', async (t) => {
  t.same(await fetchThrough(outboundProxy({ HTTPS_PROXY: proxyUrl })), [target]);
  t.same(await fetchThrough(outboundProxy({ https_proxy: proxyUrl })), [target], 'lowercase too');
  t.same(
    await fetchThrough(outboundProxy({ HTTP_PROXY: proxyUrl })),
    [target],
    'HTTP_PROXY alone covers HTTPS',
  );
});

t.test('NO_PROXY naming the provider: a direct connection', async (t) => {
  const p = outboundProxy({ HTTPS_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' });
  t.same(await fetchThrough(p), []);
});

t.test('no proxy in the environment given: a direct connection', async (t) => {
  t.equal(outboundProxy({ PATH: '/usr/bin' }), undefined);
  t.same(await fetchThrough(undefined), []);
});

t.test(
  'the process environment is not read by the provider client: only the proxy it is given',
  async (t) => {
    const saved = process.env.HTTPS_PROXY;
    process.env.HTTPS_PROXY = proxyUrl;
    t.teardown(() => {
      if (saved === undefined) delete process.env.HTTPS_PROXY;
      else process.env.HTTPS_PROXY = saved;
    });
    t.same(await fetchThrough(undefined), [], 'no proxy given: direct, whatever HTTPS_PROXY says');
    t.same(
      await fetchThrough(outboundProxy({ HTTPS_PROXY: proxyUrl, NO_PROXY: '127.0.0.1' })),
      [],
      "the given NO_PROXY wins over the process's (none)",
    );
  },
);
