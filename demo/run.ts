// `npm run demo`: a demo OpenID provider, a legacy app, an API, and authward in front, all on loopback.
//
// Order: the provider first (it makes the CA authward and the API trust), then the app and the API,
// then authward (`node dist/cli.js --config <temp>/authward.yaml`, the real command line), ready
// once its /readyz answers 200. Ctrl-C (or SIGTERM) stops every child and removes the temp dir.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { type Child, Children } from './lib/children.js';
import { API_SCOPE, authwardConfig, CLIENT_ID, checkPortsFree, HOST, portsFromEnv } from './lib/settings.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const cli = process.env.DEMO_AUTHWARD_CLI ?? join(repo, 'dist', 'cli.js');
const say = (line = '') => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const ports = portsFromEnv(process.env);
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run npm run build first (npm run demo does)`);
  await checkPortsFree(ports);

  const tmp = mkdtempSync(join(tmpdir(), 'authward-demo-'));
  const children = new Children();
  let stopping: Promise<void> | undefined;
  const stop = (code: number) => {
    stopping ??= (async () => {
      say('\n[demo] stopping...');
      await children.stopAll(10_000);
      rmSync(tmp, { recursive: true, force: true });
      say('[demo] stopped; temporary files removed');
      process.exit(code);
    })();
    return stopping;
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.on('exit', () => {
    children.killAllSync();
    rmSync(tmp, { recursive: true, force: true });
  });
  children.onUnexpectedExit = (child: Child, code) => {
    process.stderr.write(`[demo] ${child.name} exited unexpectedly (${code})\n`);
    void stop(1);
  };

  try {
    const appUrl = `http://${HOST}:${ports.authward}`;
    const caFile = join(tmp, 'ca.pem');
    const secrets = {
      AUTHWARD_CLIENT_SECRET: randomBytes(24).toString('base64url'),
      AUTHWARD_SESSION_KEY: randomBytes(32).toString('base64'),
    };
    const base = { ...process.env, DEMO_CA_FILE: caFile, DEMO_OP_ISSUER: `https://${HOST}:${ports.oidc}` };
    const script = (name: string) => join(here, `${name}.js`);

    mkdirSync(join(tmp, 'oidc'), { mode: 0o700 });
    const oidc = children.start(
      'oidc',
      script('provider'),
      [],
      {
        ...base,
        AUTHWARD_CLIENT_SECRET: secrets.AUTHWARD_CLIENT_SECRET,
        DEMO_OP_HOST: HOST,
        DEMO_OP_PORT: String(ports.oidc),
        DEMO_OP_LOGIN_PORT: String(ports.oidcLogin),
        DEMO_OP_PUBLIC_URL: `http://${HOST}:${ports.oidcLogin}`,
        DEMO_TLS_DIR: join(tmp, 'oidc'),
        DEMO_TLS_HOSTS: `${HOST},localhost`,
        DEMO_CLIENT_ID: CLIENT_ID,
        DEMO_APP_URL: appUrl,
        DEMO_API_SCOPES: API_SCOPE,
      },
      true,
    );
    await children.ready(oidc, 30_000);
    const api = children.start(
      'api',
      script('api'),
      [],
      { ...base, DEMO_API_HOST: HOST, DEMO_API_PORT: String(ports.api) },
      true,
    );
    const backend = children.start(
      'backend',
      script('backend'),
      [],
      { ...base, DEMO_BACKEND_HOST: HOST, DEMO_BACKEND_PORT: String(ports.backend) },
      true,
    );
    await Promise.all([children.ready(api, 30_000), children.ready(backend, 30_000)]);

    const configFile = join(tmp, 'authward.yaml');
    writeFileSync(configFile, authwardConfig(ports, caFile), { mode: 0o600 });
    children.start('authward', cli, ['--config', configFile], { ...process.env, ...secrets }, false);
    await waitReady(`${appUrl}/readyz`, 30_000);

    say();
    say('  authward demo is running');
    say();
    say(`  Open:        ${appUrl}/`);
    say('  Sign in as:  demo  (any password; any other user name works too)');
    say();
    say(
      `  authward ${appUrl} -> legacy app http://${HOST}:${ports.backend}, /api -> sample API http://${HOST}:${ports.api}`,
    );
    say(`  sign-in pages http://${HOST}:${ports.oidcLogin} (plain http: no certificate to trust)`);
    say(`  metrics http://${HOST}:${ports.metrics}/metrics`);
    say(`  Files:       ${tmp} (authward.yaml, the CA; removed on exit)`);
    say('  Ctrl-C stops everything.');
    say(`  [demo] pids ${children.list.map((c) => `${c.name}=${c.process.pid}`).join(' ')}`);
    say();
  } catch (err) {
    process.stderr.write(`[demo] ${(err as Error).message}\n`);
    await stop(1);
  }
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `HTTP ${res.status}: ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`authward not ready after ${timeoutMs} ms (${url}: ${last})`);
}

main().catch((err: unknown) => {
  process.stderr.write(`[demo] ${(err as Error).message}\n`);
  process.exit(1);
});
