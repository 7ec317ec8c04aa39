// An independent OpenID provider for interop tests: Debian's glewlwyd (C, not ours) on 127.0.0.1 with a fresh database.
//
// Why glewlwyd: it is in Debian's archive (apt-get install glewlwyd), starts in a fraction of a second,
// keeps everything in one SQLite file and reads the specs differently from oidc-provider: a
// two-segment issuer (`/api/oidc`), no `id_token` in refresh responses, empty-body 400s for refused
// refresh tokens, post_logout_redirect_uri honoured only with `state`, client_secret_basic listed
// first. Everything is configured the documented way: the package's own SQLite schema, then the
// admin REST API (as its admin web app does), so no table layout of ours can drift from theirs.
//
// glewlwyd listens on plain HTTP on loopback; a small TLS front in this process serves it at the
// public https origin (MSAL wants an https authority) and counts token requests by grant type, the
// only way a test sees how often authward went to the provider. Its web app (login.html) is not
// packaged: `signIn` does what that page does (password login and consent over the REST API, then
// back to the authorization endpoint with `g_continue`), `finishEndSession` what its end-session
// page does. Trust stays local: `caPem` / `caFile`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { generateKeyPair, type KeyObject, randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { compactVerify, createLocalJWKSet, type JWTPayload } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';
import type { Browser, NavigateResult } from './browser.js';
import { freePort } from './ports.js';
import { createTestTls, type TestTls } from './tls.js';

const execFileAsync = promisify(execFile);
const generateKeyPairAsync = promisify(generateKeyPair);

// The package's schema: dbconfig-common's copy is always installed; the doc copy may be excluded
// by a minimal image's dpkg path filters.
const SCHEMAS = [
  '/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3',
  '/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz',
];
// The schema's administrator (documented default credentials; this database lives for one test).
const ADMIN = { username: 'admin', password: 'password' };
const PLUGIN = 'oidc';

// glewlwyd runs under a small node guard: SIGTERM is passed on, and when this process dies without
// cleaning up (tap's timeout kill, SIGKILL) the guard's stdin pipe closes and it kills glewlwyd, so
// no provider outlives its test.
const GUARD = `
const { spawn } = require('node:child_process');
const [bin, ...args] = process.argv.slice(1);
const child = spawn(bin, args, { stdio: ['ignore', 'inherit', 'inherit'] });
const kill = () => { try { child.kill('SIGKILL'); } catch {} };
process.stdin.on('end', kill); process.stdin.on('error', kill); process.stdin.resume();
process.on('SIGTERM', () => child.kill('SIGTERM'));
process.on('SIGINT', () => child.kill('SIGTERM'));
child.on('exit', (code) => process.exit(code ?? 1));
`;

function findOnPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin'];
  for (const dir of dirs) if (dir !== '' && executable(join(dir, name))) return join(dir, name);
  return undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The glewlwyd binary ($GLEWLWYD if set, else on PATH), or undefined when it is not installed. */
export function findGlewlwyd(): string | undefined {
  const forced = process.env.GLEWLWYD;
  if (forced) return executable(forced) ? forced : undefined;
  return findOnPath('glewlwyd');
}

export interface GlewlwydOptions {
  /** authward's redirect URI (publicUrl + identity.callbackPath). */
  redirectUri: string;
  /** Where the provider may send users after sign-out (exact matches). */
  postLogoutRedirectUris?: string[];
  /** Access (and ID) token lifetime in seconds (default 3600). */
  accessTokenTTL?: number;
  /** One-time-use refresh tokens: each refresh answers a new one and disables the old (default false). */
  rotateRefreshTokens?: boolean;
  /** API scopes the user holds and may consent to (default ['orders.read']). */
  apiScopes?: string[];
  /**
   * RFC 8707: resources each scope may be requested for; when given, glewlwyd accepts `resource`
   * and sets the access token's `aud` to it (else `aud` is the scope list).
   */
  resources?: Record<string, string[]>;
  /** The client's allowed token endpoint auth methods (default both secret methods). */
  tokenEndpointAuthMethods?: ('client_secret_basic' | 'client_secret_post')[];
}

/** One request to the token endpoint, as seen at the TLS front. */
export interface TokenRequest {
  grantType: string;
  /** 'basic' when the client authenticated with an Authorization header, else 'post'. */
  clientAuth: 'basic' | 'post';
  status: number;
  /** An error answer's OAuth `error` code, '' for an empty body, undefined on success. */
  error?: string;
}

export interface TestGlewlwyd {
  /** https://127.0.0.1:port (the TLS front). */
  origin: string;
  /** https://127.0.0.1:port/api/oidc: what identity.authority must be. */
  issuer: string;
  caPem: string;
  caFile: string;
  clientId: string;
  clientSecret: string;
  user: { username: string; password: string; name: string; email: string };
  /** Every token endpoint request so far, in order. */
  tokenRequests: TokenRequest[];
  /** Verify a token glewlwyd signed (signature and issuer; lifetime not checked). */
  verify(token: string): Promise<JWTPayload>;
  /**
   * Navigate to startUrl and get through glewlwyd's login the way its web app does: password login
   * and consent over the REST API, then back to the authorization endpoint. Returns the app's answer.
   */
  signIn(browser: Browser, startUrl: string): Promise<NavigateResult>;
  /**
   * Given the page glewlwyd's end_session endpoint sent the browser to (its login page with
   * prompt=end_session), do what its end-session page does: end the provider session (refresh tokens
   * of that session are disabled), then return the user to the app if glewlwyd accepted the
   * post_logout_redirect_uri. `returned` is that navigation, if any.
   */
  finishEndSession(browser: Browser, loginPageUrl: string): Promise<{ returned?: NavigateResult }>;
  /** End the provider session behind an ID token's `sid` (as signing out of another app would). */
  endProviderSession(browser: Browser, sid: string): Promise<void>;
  /**
   * Key rotation: publish a new signing key and sign everything with it from now on (the old key
   * stays published, as providers do). Returns the new key's kid.
   */
  rotateSigningKey(): Promise<string>;
  /** glewlwyd's console output (for failure messages). */
  log(): string;
  close(): Promise<void>;
}

/** A TLS front to glewlwyd's plain-HTTP port that records token requests. */
function startFront(tls: TestTls, backendPort: number, seen: TokenRequest[]): Promise<Server> {
  const server = createHttpsServer(
    { cert: tls.certPem, key: tls.keyPem },
    (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const isToken = req.method === 'POST' && /\/token\/?$/.test((req.url ?? '').split('?')[0] ?? '');
        const up = httpRequest(
          {
            host: '127.0.0.1',
            port: backendPort,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, 'content-length': String(body.length), 'x-forwarded-proto': 'https' },
          },
          (r) => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
            if (!isToken) return;
            const form = new URLSearchParams(body.toString('utf8'));
            const record: TokenRequest = {
              grantType: form.get('grant_type') ?? '',
              clientAuth: req.headers.authorization?.startsWith('Basic ') ? 'basic' : 'post',
              status: r.statusCode ?? 0,
            };
            seen.push(record);
            if (record.status < 400) return;
            const answer: Buffer[] = [];
            r.on('data', (c: Buffer) => answer.push(c));
            r.on('end', () => {
              const text = Buffer.concat(answer).toString('utf8');
              try {
                record.error = text ? String(JSON.parse(text).error) : '';
              } catch {
                record.error = text.slice(0, 40);
              }
            });
          },
        );
        up.on('error', () => {
          if (!res.headersSent) res.writeHead(502);
          res.end();
        });
        up.end(body);
      });
    },
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function configFile(o: { port: number; external: string; db: string }): string {
  return [
    `port=${o.port}`,
    'bind_address="127.0.0.1"',
    `external_url="${o.external}"`,
    'login_url="login.html"',
    'api_prefix="api"',
    'log_mode="console"',
    'log_level="INFO"',
    'cookie_secure=1',
    'session_expiration=3600',
    'session_key="GLEWLWYD2_SESSION_ID"',
    'admin_session_authentication="cookie"',
    'profile_session_authentication="cookie"',
    'allow_multiple_user_per_session=false',
    'login_api_enabled=true',
    'admin_scope="g_admin"',
    'profile_scope="g_profile"',
    'user_module_path="/usr/lib/glewlwyd/user"',
    'client_module_path="/usr/lib/glewlwyd/client"',
    'user_auth_scheme_module_path="/usr/lib/glewlwyd/scheme"',
    'plugin_module_path="/usr/lib/glewlwyd/plugin"',
    'hash_algorithm="SHA512"',
    `database = { type = "sqlite3"; path = "${o.db}"; };`,
    '',
  ].join('\n');
}

function schemaSql(): string {
  for (const file of SCHEMAS) {
    if (!existsSync(file)) continue;
    const raw = readFileSync(file);
    return (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  }
  throw new Error(`glewlwyd's SQLite schema not found (looked in ${SCHEMAS.join(', ')})`);
}

async function initDatabase(file: string): Promise<void> {
  const sqlite3 = findOnPath('sqlite3');
  if (!sqlite3) throw new Error('sqlite3 not found on PATH: apt-get install -y sqlite3');
  const child = execFileAsync(sqlite3, [file]);
  // One transaction, no fsync: statement by statement the schema takes seconds on a busy disk.
  child.child.stdin?.end(`PRAGMA synchronous=OFF;\nBEGIN;\n${schemaSql()}\nCOMMIT;\n`);
  await child;
}

/** Resolves when glewlwyd says it listens; rejects if it exits first. */
function waitStarted(child: ChildProcess, out: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = () => {
      if (/Glewlwyd started on port/.test(out())) {
        child.stdout?.off('data', onData);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) =>
      reject(new Error(`glewlwyd exited (code ${code}) before listening:\n${out().slice(-2000)}`));
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
}

/** glewlwyd logs "started" just before it binds: wait until its port takes connections. */
async function waitListening(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('glewlwyd exited');
    if (Date.now() > deadline) throw new Error(`glewlwyd never listened on ${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function startGlewlwyd(opts: GlewlwydOptions): Promise<TestGlewlwyd> {
  const bin = findGlewlwyd();
  if (!bin) throw new Error('glewlwyd not found: apt-get install -y glewlwyd');
  // The signing key (RSA, the most common provider default) generates while glewlwyd starts.
  const signingKey = generateKeyPairAsync('rsa', { modulusLength: 2048 });
  const dir = mkdtempSync(join(tmpdir(), 'authward-glewlwyd-'));
  const tls = await createTestTls({ dir, hosts: ['127.0.0.1'] });
  const db = join(dir, 'glewlwyd.db');
  const conf = join(dir, 'glewlwyd.conf');
  const tokenRequests: TokenRequest[] = [];
  const internalPort = await freePort();
  // Bind the public port first: the issuer (in glewlwyd's config and its plugin) must name it.
  const front = await startFront(tls, internalPort, tokenRequests);
  const origin = `https://127.0.0.1:${(front.address() as AddressInfo).port}`;
  const issuer = `${origin}/api/${PLUGIN}`;

  let output = '';
  let child: ChildProcess | undefined;
  let closeAdmin = async () => {};
  const killChild = () => child?.kill('SIGKILL');
  const cleanup = async () => {
    process.off('exit', killChild);
    await closeAdmin();
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await new Promise<void>((r) => {
      front.close(() => r());
      front.closeAllConnections();
    });
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await initDatabase(db);
    writeFileSync(conf, configFile({ port: internalPort, external: origin, db }));
    child = spawn(process.execPath, ['-e', GUARD, bin, `--config-file=${conf}`], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin?.on('error', () => {});
    process.on('exit', killChild);
    const append = (d: Buffer) => {
      output = (output + d.toString('utf8')).slice(-200_000);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    await waitStarted(child, () => output);
    await waitListening(internalPort, child);

    const agent = new Agent({ connect: { ca: tls.caPem } });
    let adminCookie = '';
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await undiciFetch(`${origin}/api${path}`, {
        method,
        dispatcher: agent,
        headers: { 'content-type': 'application/json', ...(adminCookie ? { cookie: adminCookie } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok)
        throw new Error(`glewlwyd ${method} /api${path}: ${res.status} ${text}\n${output.slice(-1000)}`);
      const set = res.headers.getSetCookie().find((c) => c.startsWith('GLEWLWYD2_SESSION_ID='));
      if (set) adminCookie = set.split(';', 1)[0] ?? '';
      return text ? JSON.parse(text) : undefined;
    };

    await api('POST', '/auth/', ADMIN);

    // Client and user properties the stock database modules do not store: registered, then the
    // module reloaded (glewlwyd applies a changed data-format only on reset).
    const clientMod = await api('GET', '/mod/client/database');
    clientMod.parameters['data-format'].post_logout_redirect_uris = {
      multiple: true,
      read: true,
      write: true,
    };
    await api('PUT', '/mod/client/database', { ...clientMod, enabled: undefined });
    await api('PUT', '/mod/client/database/reset');
    const userMod = await api('GET', '/mod/user/database');
    userMod.parameters['data-format'].email_verified = {
      multiple: false,
      read: true,
      write: true,
      'profile-read': false,
      'profile-write': false,
    };
    await api('PUT', '/mod/user/database', { ...userMod, enabled: undefined });
    await api('PUT', '/mod/user/database/reset');

    // Scopes: password login suffices for each (glewlwyd's default "password" scheme).
    const apiScopes = opts.apiScopes ?? ['orders.read'];
    for (const name of ['profile', 'email', 'offline_access', ...apiScopes]) {
      await api('POST', '/scope/', {
        name,
        display_name: name,
        description: name,
        password_required: true,
        password_max_age: 0,
        scheme: {},
      });
    }

    const jwkOf = (key: KeyObject, kid: string) => ({
      ...key.export({ format: 'jwk' }),
      kid,
      alg: 'RS256',
      use: 'sig',
    });
    const signingJwks = [jwkOf((await signingKey).privateKey, 'k1')];
    await api('POST', '/mod/plugin/', {
      module: 'oidc',
      name: PLUGIN,
      display_name: 'OpenID Connect',
      parameters: {
        iss: issuer,
        'jwks-private': JSON.stringify({ keys: signingJwks }),
        'default-kid': 'k1',
        'jwks-show': true,
        'access-token-duration': opts.accessTokenTTL ?? 3600,
        'refresh-token-duration': 3600,
        'code-duration': 600,
        'refresh-token-rolling': true,
        'refresh-token-one-use': opts.rotateRefreshTokens ? 'always' : 'never',
        'allow-non-oidc': false,
        'auth-type-code-enabled': true,
        'auth-type-token-enabled': false,
        'auth-type-none-enabled': false,
        'auth-type-password-enabled': false,
        'auth-type-client-enabled': false,
        'auth-type-device-enabled': false,
        'auth-type-refresh-enabled': true,
        'subject-type': 'public',
        scope: [],
        'name-claim': 'mandatory',
        'email-claim': 'mandatory',
        claims: [
          { name: 'preferred_username', 'user-property': 'username', type: 'string', mandatory: true },
          {
            name: 'email_verified',
            'user-property': 'email_verified',
            type: 'boolean',
            'boolean-value-true': '1',
            'boolean-value-false': '0',
            mandatory: true,
          },
        ],
        'pkce-allowed': true,
        ...(opts.resources ? { 'resource-allowed': true, 'resource-scope': opts.resources } : {}),
        'session-management-allowed': true,
        // Its end-session page's session lookup answers 400 unless front-channel logout is on.
        'front-channel-logout-allowed': true,
        'session-cookie-name': 'GLEWLWYD2_OIDC_SID',
        'session-cookie-expiration': 3600,
      },
    });

    const clientId = 'authward';
    const clientSecret = randomBytes(24).toString('base64url');
    await api('POST', '/client/', {
      client_id: clientId,
      name: 'authward',
      enabled: true,
      confidential: true,
      client_secret: clientSecret,
      redirect_uri: [opts.redirectUri],
      authorization_type: ['code', 'refresh_token'],
      token_endpoint_auth_method: opts.tokenEndpointAuthMethods ?? [
        'client_secret_basic',
        'client_secret_post',
      ],
      post_logout_redirect_uris: opts.postLogoutRedirectUris ?? [],
      scope: [],
    });

    const user = {
      username: 'alice',
      password: randomBytes(12).toString('base64url'),
      name: 'Alice Liddell',
      email: 'alice@example.com',
    };
    await api('POST', '/user/', {
      ...user,
      enabled: true,
      email_verified: '1',
      // g_profile: the user's own REST API (login, consent), as glewlwyd's login page uses it.
      scope: ['g_profile', 'openid', 'profile', 'email', 'offline_access', ...apiScopes],
    });

    let jwks = createLocalJWKSet(await api('GET', `/${PLUGIN}/jwks`));
    closeAdmin = () => agent.close();

    const rotateSigningKey = async () => {
      const kid = `k${signingJwks.length + 1}`;
      signingJwks.unshift(
        jwkOf((await generateKeyPairAsync('rsa', { modulusLength: 2048 })).privateKey, kid),
      );
      const plugin = await api('GET', `/mod/plugin/${PLUGIN}`);
      plugin.parameters['jwks-private'] = JSON.stringify({ keys: signingJwks });
      plugin.parameters['default-kid'] = kid;
      await api('PUT', `/mod/plugin/${PLUGIN}`, { ...plugin, enabled: undefined });
      // glewlwyd reads its keys when the plugin instance (re)starts.
      await api('PUT', `/mod/plugin/${PLUGIN}/reset`);
      jwks = createLocalJWKSet(await api('GET', `/${PLUGIN}/jwks`));
      return kid;
    };

    const json = (body: unknown) => ({
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

    const finishLogin = async (browser: Browser, page: NavigateResult): Promise<NavigateResult> => {
      const q = new URL(page.url).searchParams;
      const callback = q.get('callback_url');
      if (!callback) throw new Error(`glewlwyd login page without callback_url: ${page.url}`);
      const login = await browser.fetch(`${origin}/api/auth/`, {
        method: 'POST',
        initiator: page.url,
        ...json({ username: user.username, password: user.password }),
      });
      if (login.status !== 200) throw new Error(`glewlwyd password login: ${login.status}`);
      const grant = await browser.fetch(
        `${origin}/api/auth/grant/${encodeURIComponent(q.get('client_id') ?? '')}`,
        {
          method: 'PUT',
          initiator: page.url,
          ...json({ scope: q.get('scope') ?? '' }),
        },
      );
      if (grant.status !== 200) throw new Error(`glewlwyd consent: ${grant.status}`);
      const next = `${callback}${callback.includes('?') ? '&' : '?'}g_continue`;
      return browser.navigate(next, { initiator: page.url });
    };

    const endProviderSession = async (browser: Browser, sid: string) => {
      const res = await browser.fetch(`${origin}/api/${PLUGIN}/session/${sid}`, {
        method: 'DELETE',
        initiator: `${origin}/login.html`,
      });
      if (res.status !== 200) throw new Error(`glewlwyd end session: ${res.status}`);
    };

    return {
      origin,
      issuer,
      caPem: tls.caPem,
      caFile: tls.caFile,
      clientId,
      clientSecret,
      user,
      tokenRequests,
      async verify(token) {
        // Signature and issuer only: a short-lived token may have expired by the time a test looks.
        const { payload } = await compactVerify(token, jwks);
        const claims = JSON.parse(new TextDecoder().decode(payload)) as JWTPayload;
        if (claims.iss !== issuer) throw new Error(`token issuer ${claims.iss}, expected ${issuer}`);
        return claims;
      },
      async signIn(browser, startUrl) {
        const page = await browser.navigate(startUrl);
        if (new URL(page.url).origin !== origin || new URL(page.url).pathname !== '/login.html') return page;
        const done = await finishLogin(browser, page);
        return { ...done, hops: [...page.hops, ...done.hops] };
      },
      async finishEndSession(browser, loginPageUrl) {
        const q = new URL(loginPageUrl).searchParams;
        if (q.get('prompt') !== 'end_session')
          throw new Error(`not glewlwyd's end-session page: ${loginPageUrl}`);
        const sid = q.get('sid') ?? '';
        const postRedirect = q.get('post_redirect_to');
        // Its page asks which clients to notify, passing post_redirect_to through; the answer says
        // whether glewlwyd will send the user back.
        const listUrl = `${origin}/api/${PLUGIN}/session/${sid}/${encodeURIComponent(q.get('client_id') ?? '')}${
          postRedirect ? `?post_redirect_to=${encodeURIComponent(postRedirect)}` : ''
        }`;
        const list = await browser.fetch(listUrl, { initiator: loginPageUrl });
        const session = list.status === 200 ? ((await list.json()) as { post_redirect_to?: string }) : {};
        await endProviderSession(browser, sid);
        await browser.fetch(`${origin}/api/auth/`, { method: 'DELETE', initiator: loginPageUrl });
        const callback = q.get('callback_url');
        if (!session.post_redirect_to || !callback) return {};
        return { returned: await browser.navigate(callback, { initiator: loginPageUrl }) };
      },
      endProviderSession,
      rotateSigningKey,
      log: () => output,
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
