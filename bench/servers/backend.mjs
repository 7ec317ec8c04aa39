// The bench backend: a fixed 1 KiB body for any path, as cheap as node:http allows, plus two bench endpoints.
//
//   GET <any path>                -> 200 text/plain, BODY_BYTES bytes starting with "bench-backend-ok"
//   GET <prefix>/_bench/headers   -> 200 JSON: the request headers it received (counted as a hit)
//   GET /_bench/stats             -> 200 JSON: { requests, connections } (not counted)
// Env: BACKEND_PORT (required), BODY_BYTES [1024]. Exits when its parent goes away.
import http from 'node:http';

const port = Number(process.env.BACKEND_PORT);
const bodyBytes = Number(process.env.BODY_BYTES || 1024);
if (!Number.isInteger(port) || port <= 0) {
  console.error('backend: BACKEND_PORT must be set');
  process.exit(2);
}

const filler = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(Math.ceil(bodyBytes / 36));
const body = Buffer.from(`${`bench-backend-ok\n${filler}`.slice(0, bodyBytes - 1)}\n`);
const headers = { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length) };

let requests = 0;
let connections = 0;
const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url === '/_bench/stats') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ requests, connections }));
    return;
  }
  requests++;
  if (url.endsWith('/_bench/headers')) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ url, headers: req.headers }));
    return;
  }
  res.writeHead(200, headers);
  res.end(body);
});
server.on('connection', () => connections++);
// Idle upstream keep-alive connections outlive the pauses between runs: no proxy races a backend close.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.listen(port, '127.0.0.1', () =>
  console.log(`backend on http://127.0.0.1:${port} body=${body.length}B`),
);

const parent = process.ppid;
setInterval(() => process.ppid !== parent && process.exit(0), 1000).unref();
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => process.exit(0));
