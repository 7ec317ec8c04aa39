// The sample "legacy" backend: a plain node:http app with no auth code, meant to sit behind authward only.
import http, { type ServerResponse } from 'node:http';
import { EASY_AUTH_JS, EASY_AUTH_PATH, renderEasyAuthPage } from './easy-auth-page.js';
import { APP_JS, renderPage, STYLE_CSS } from './page.js';

export interface DemoBackend {
  close(): Promise<void>;
}

// Everything inline is forbidden: a header value that slipped through escaping still could not run.
// (No form-action: the sign-out form's redirect goes on to the provider, and browsers apply
// form-action to redirects too.)
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

export async function startBackend(opts: { host: string; port: number }): Promise<DemoBackend> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain', 'method not allowed\n');
    if (path === '/') return send(res, 200, 'text/html; charset=utf-8', renderPage(req.headers));
    if (path === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', APP_JS);
    // An App Service sample page, unchanged (/.auth/login/aad, X-MS-CLIENT-PRINCIPAL, /.auth/me).
    if (path === EASY_AUTH_PATH)
      return send(res, 200, 'text/html; charset=utf-8', renderEasyAuthPage(req.headers));
    if (path === `${EASY_AUTH_PATH}.js`)
      return send(res, 200, 'text/javascript; charset=utf-8', EASY_AUTH_JS);
    if (path === '/style.css') return send(res, 200, 'text/css; charset=utf-8', STYLE_CSS);
    if (path === '/healthz') return send(res, 200, 'text/plain', 'ok\n');
    return send(res, 404, 'text/plain', 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, resolve);
  });
  return {
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type });
  res.end(body);
}
