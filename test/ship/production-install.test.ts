// The image's start command works from a production-only install: package.json + lock + dist, `npm ci --omit=dev`.
//
// What the Dockerfile's prod-deps + runtime stages do, without Docker: a dependency that is only a
// devDependency, or a file dist needs but does not have, fails here.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import t from 'tap';
import { stringify } from 'yaml';
import { newKey } from '../helpers/config.js';
import { startIdp } from '../helpers/idp.js';
import { freePort } from '../helpers/ports.js';
import { root, transpileTree } from './files.js';

const run = promisify(execFile);
/** `${NAME}` in the config: authward substitutes the environment variable. */
const fromEnv = (name: string) => `\${${name}}`;
const dir = mkdtempSync(join(tmpdir(), 'authward-prod-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

// npm's own variables from an outer `npm test` (omit, include, ...) must not leak into the install.
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !/^npm_/i.test(k) || /^npm_config_(cache|registry|userconfig)$/i.test(k),
  ),
);

t.test('npm ci --omit=dev installs what dist needs', async (t) => {
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(root, f), join(dir, f));
  // dist as `npm run build` emits it, compiled here so that no concurrent build can race this test.
  transpileTree(join(root, 'src'), join(dir, 'dist'));
  const npmCi = () =>
    run(
      'npm',
      ['ci', '--omit=dev', '--ignore-scripts=false', '--prefer-offline', '--no-audit', '--no-fund'],
      {
        cwd: dir,
        env: cleanEnv,
        timeout: 120_000,
      },
    );
  try {
    await npmCi();
    t.pass('npm ci --omit=dev with the unmodified package.json and package-lock.json');
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? err);
    const missing = [...stderr.matchAll(/Missing: (\S+) from lock file/g)].map((m) => m[1]);
    if (missing.length === 0) throw err;
    // The Dockerfile's prod-deps stage runs this very command, so the image build fails the same way.
    t.fail(
      `package-lock.json is out of sync with package.json (npm ci refuses it): missing ${missing.join(', ')}`,
    );
    // Go on with the lock's production tree alone, so the start command is still checked.
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    delete pkg.devDependencies;
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    await npmCi();
  }
  const installed = (name: string) => existsSync(join(dir, 'node_modules', name, 'package.json'));
  for (const dep of ['fastify', '@azure/msal-node', 'sodium-native', 'ioredis'])
    t.ok(installed(dep), `${dep} installed`);
  for (const dev of ['typescript', 'tap', 'oidc-provider', 'playwright-core', 'kubernetes-models']) {
    t.notOk(installed(dev), `${dev} (dev only) not installed`);
  }
});

t.test('node dist/cli.js: keygen, --check-config, then a real start, /healthz, SIGTERM', async (t) => {
  const idp = await startIdp();
  t.teardown(() => idp.close());
  const upstream = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`upstream saw ${req.url}`);
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  t.teardown(() => upstream.close());
  const port = await freePort();
  const metricsPort = await freePort();
  const configFile = join(dir, 'config.yaml');
  writeFileSync(
    configFile,
    stringify({
      listen: { host: '127.0.0.1', port },
      publicUrl: `http://127.0.0.1:${port}`,
      shutdownGraceSeconds: 5,
      identity: {
        protocol: 'oidc',
        authority: idp.authority,
        clientId: idp.clients.secret.clientId,
        clientSecret: fromEnv('CLIENT_SECRET'),
        caFile: idp.caFile,
      },
      session: { keys: [newKey()] },
      upstream: { url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` },
      publicRoutes: [{ path: '/*' }],
      logging: { level: 'warn' },
      metrics: { enabled: true, host: '127.0.0.1', port: metricsPort },
    }),
  );
  const env = { ...cleanEnv, CLIENT_SECRET: idp.clients.secret.clientSecret };
  const cli = (args: string[]) => run(process.execPath, ['dist/cli.js', ...args], { cwd: dir, env });

  const key = await cli(['keygen']);
  t.equal(Buffer.from(key.stdout.trim(), 'base64').length, 32, 'keygen prints a 32-byte key');
  const check = await cli(['--config', configFile, '--check-config']);
  t.match(check.stdout, /configuration is valid/, '--check-config exits 0');

  const child = spawn(process.execPath, ['dist/cli.js', '--config', configFile], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });

  const get = async (url: string) => {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  };
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  let ready = 0;
  while (Date.now() < deadline && ready !== 200) {
    ready = await get(`${base}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (ready !== 200) await sleep(100);
  }
  t.equal(ready, 200, `/readyz 200 once discovery through the CA worked\n${output}`);
  t.equal((await get(`${base}/healthz`)).status, 200, '/healthz 200');
  t.same(await get(`${base}/hello`), { status: 200, body: 'upstream saw /hello' }, 'proxied to the upstream');
  t.match((await get(`http://127.0.0.1:${metricsPort}/metrics`)).body, /authward_/, 'metrics served');

  child.kill('SIGTERM');
  const code = await Promise.race([exited, sleep(15_000, 'timeout')]);
  t.equal(code, 0, `SIGTERM -> exit 0\n${output}`);
});
