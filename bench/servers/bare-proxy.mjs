// Bare reverse proxy: fastify 5 + @fastify/http-proxy, no auth, no logging: the ceiling for authward's design.
//
// Env: PROXY_PORT, UPSTREAM_URL (both required). Exits when its parent goes away.
import httpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';
// As authward's CLI does: not auth work, a V8 effect any Node proxy has (src/tick-shape.ts). Without it
// this baseline lands, at random, in a state costing 10 % more per request, flattering every ratio.
import { keepTickShape } from '../../dist/tick-shape.js';

keepTickShape();

const port = Number(process.env.PROXY_PORT);
const upstream = process.env.UPSTREAM_URL;
if (!Number.isInteger(port) || port <= 0 || !upstream) {
  console.error('bare-proxy: PROXY_PORT and UPSTREAM_URL must be set');
  process.exit(2);
}

const app = Fastify({ logger: false });
// Plugin defaults otherwise (undici pool, keep-alive, no pipelining), as authward's own registration.
await app.register(httpProxy, { upstream, prefix: '/' });
await app.listen({ host: '127.0.0.1', port });
console.log(`bare-proxy on http://127.0.0.1:${port} -> ${upstream}`);

const parent = process.ppid;
setInterval(() => process.ppid !== parent && process.exit(0), 1000).unref();
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => app.close().finally(() => process.exit(0)));
