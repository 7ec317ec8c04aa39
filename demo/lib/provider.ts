// The demo OpenID provider: one oidc-provider, two listeners, so no person ever sees a certificate warning.
//
// MSAL insists on an https authority whose host:port equals the issuer. Only authward and the sample
// API talk to the issuer (discovery, token, JWKS: the back channel), so that listener is https with a
// certificate from a throwaway CA they are told to trust (identity.caFile). The browser only visits
// the authorization endpoint, the login and consent pages and the sign-out page (the front channel):
// the same provider serves those on a plain-http listener, and discovery advertises that listener's
// URLs for them. oidc-provider builds every page URL from the request it answers, so pages reached
// over http link to http. MSAL validates only the authority's scheme, not the endpoints'.
import { generateKeyPair } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { promisify } from 'node:util';
import type { KoaContext, OidcClientPrototype } from './oidc-types.js';
import { loadOidcProvider, quietly } from './oidc-types.js';
import { type ClientRegistration, providerConfiguration } from './provider-config.js';
import { withoutExternalResources } from './provider-pages.js';
import type { ServerTls } from './tls.js';

export interface ProviderOptions {
  /** Listen address of both listeners. */
  host: string;
  /** https back channel. */
  port: number;
  /** http front channel (browser-facing pages). */
  loginPort: number;
  /** The issuer: https origin of the back channel as authward reaches it. */
  issuer: string;
  /** Origin of the front channel as the browser reaches it. */
  publicUrl: string;
  tls: ServerTls;
  client: ClientRegistration;
  /** Origins allowed as post-logout redirect targets (authward's publicUrl). */
  appOrigins: string[];
  apiScopes: string[];
  accessTokenTTL?: number;
}

export interface DemoProvider {
  close(): Promise<void>;
}

/** Paths a browser visits; everything else (token, JWKS, userinfo...) is back channel only. */
const FRONT_CHANNEL = /^\/(auth|interaction|session\/end)(\/|$)/;
const FRONT_CHANNEL_ENDPOINTS = ['authorization_endpoint', 'end_session_endpoint'] as const;

export async function startProvider(opts: ProviderOptions): Promise<DemoProvider> {
  const oidc = await loadOidcProvider();
  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const configuration = await providerConfiguration({
    client: opts.client,
    apiScopes: opts.apiScopes,
    signingKey: privateKey,
    accessTokenTTL: opts.accessTokenTTL ?? 3600,
    invalidTarget: oidc.errors.InvalidTarget,
  });
  const provider = await quietly(() => new oidc.default(opts.issuer, configuration));

  // Sign-out may return to any page of the app (authward sends post_logout_redirect_uri = its origin + path).
  const proto: OidcClientPrototype = provider.Client.prototype;
  const allowed = proto.postLogoutRedirectUriAllowed;
  proto.postLogoutRedirectUriAllowed = function (this: OidcClientPrototype, value: string) {
    return opts.appOrigins.includes(originOf(value)) || allowed.call(this, value);
  };

  provider.use(withoutExternalResources); // first: it rewrites what every later step answered
  const front = new URL(opts.publicUrl);
  provider.use(async (ctx: KoaContext, next) => {
    if (ctx.path === '/auth' && ctx.method === 'GET' && typeof ctx.query.scope === 'string') {
      // MSAL never sends prompt=consent, without which oidc-provider drops offline_access (no
      // refresh token); Entra issues refresh tokens regardless. Asking once for consent does it.
      const scopes = ctx.query.scope.split(' ');
      if (!ctx.query.prompt && scopes.includes('offline_access'))
        ctx.query = { ...ctx.query, prompt: 'consent' };
    }
    await next();
    if (ctx.path === '/.well-known/openid-configuration' && ctx.status === 200) {
      const doc = ctx.body as Record<string, unknown>;
      for (const key of FRONT_CHANNEL_ENDPOINTS) {
        if (typeof doc[key] !== 'string') continue;
        const url = new URL(doc[key] as string);
        url.protocol = front.protocol;
        url.host = front.host;
        doc[key] = url.href;
      }
    }
  });

  const callback = provider.callback();
  const backChannel = https.createServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, (req, res) =>
    healthz(req, res) ? undefined : callback(req, res),
  );
  const frontChannel = http.createServer((req, res) => {
    if (healthz(req, res)) return;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (FRONT_CHANNEL.test(path)) return callback(req, res);
    if (path === '/') return page(res, 200, home(opts.appOrigins));
    return page(res, 404, '<p>Not here: this listener serves only the sign-in and sign-out pages.</p>');
  });
  await Promise.all([
    listen(backChannel, opts.host, opts.port),
    listen(frontChannel, opts.host, opts.loginPort),
  ]);
  return {
    async close() {
      await Promise.all([close(backChannel), close(frontChannel)]);
    },
  };
}

function originOf(value: string): string {
  try {
    return new URL(value).origin;
  } catch {
    return '';
  }
}

function healthz(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.url !== '/healthz') return false;
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
  return true;
}

function home(appOrigins: string[]): string {
  const links = appOrigins.map((o) => `<a href="${o}/">${o}/</a>`).join(' or ');
  return `<h1>authward demo OpenID provider</h1><p>Nothing to see here: open the app at ${links} and sign in as <b>demo</b> (any password).</p>`;
}

function page(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(
    `<!doctype html><html><head><meta charset="utf-8"><title>authward demo provider</title></head><body>${body}</body></html>\n`,
  );
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
