// `npm run demo` end to end: start it, sign in as the demo user in a browser, see the identity headers and the API answer, Ctrl-C.
//
// Runs demo/run.ts (the `npm run demo` entry) on free ports, compiled with authward into a private
// folder under demo/.build. The browser is Debian's Chromium driven by playwright-core when it is
// installed (apt-get install chromium), else the test suite's HTTP-level browser (no JavaScript).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { Browser, signIn } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { read, root, transpileTree } from './files.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

interface Demo {
  url: string;
  loginPort: number;
  pids: Record<string, number>;
  tempDir: string;
  output: () => string;
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

async function startDemo(t: Test): Promise<Demo> {
  mkdirSync(join(root, 'demo', '.build'), { recursive: true });
  const out = mkdtempSync(join(root, 'demo', '.build', 'ship-test-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  transpileTree(join(root, 'src'), join(out, 'dist'));
  transpileTree(join(root, 'demo'), join(out, 'demo'));

  const ports: Record<string, number> = {};
  for (const name of [
    'DEMO_PORT',
    'DEMO_METRICS_PORT',
    'DEMO_OP_PORT',
    'DEMO_OP_LOGIN_PORT',
    'DEMO_BACKEND_PORT',
    'DEMO_API_PORT',
  ]) {
    ports[name] = await freePort();
  }
  const child: ChildProcess = spawn(process.execPath, [join(out, 'demo', 'run.js')], {
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      DEMO_AUTHWARD_CLI: join(out, 'dist', 'cli.js'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });

  const deadline = Date.now() + 60_000;
  while (!/\[demo\] pids /.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`the demo did not start:\n${output}`);
    await sleep(100);
  }
  const url = /Open:\s+(\S+)/.exec(output)?.[1] ?? '';
  const pids = Object.fromEntries(
    [...(/\[demo\] pids (.*)/.exec(output)?.[1] ?? '').matchAll(/(\w+)=(\d+)/g)].map((m) => [
      m[1],
      Number(m[2]),
    ]),
  );
  return {
    url,
    loginPort: ports.DEMO_OP_LOGIN_PORT as number,
    pids,
    tempDir: /Files:\s+(\S+)/.exec(output)?.[1] ?? '',
    output: () => output,
    async stop(signal) {
      child.kill(signal);
      return Promise.race([exited, sleep(20_000, null)]);
    },
  };
}

/** Chromium via playwright-core: the real page, JavaScript included (the API call is made by the page). */
async function chromiumSignIn(t: Test, demo: Demo) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      // Loopback only: a request for anything else fails here, and is counted below.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const visited: string[] = [];
  const outside: string[] = [];
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname !== '127.0.0.1') {
      outside.push(url.href);
      return route.abort();
    }
    visited.push(url.href);
    return route.continue();
  });
  await page.goto(demo.url);
  t.match(
    page.url(),
    `http://127.0.0.1:${demo.loginPort}/interaction/`,
    'sent to the plain-http sign-in page',
  );
  await page.fill('input[name=login]', 'demo');
  await page.fill('input[name=password]', 'any password');
  await Promise.all([page.waitForURL(/\/interaction\//), page.click('button[type=submit]')]);
  t.match(await page.textContent('body'), /api:\/\/demo\/read/, 'the consent page names the API scope');
  await Promise.all([page.waitForURL(demo.url), page.click('button[type=submit]')]);
  await page.waitForSelector('#api-result:not([data-state=pending])', { timeout: 15_000 });
  const result = {
    user: await page.textContent('#user'),
    identity: await page.textContent('#identity'),
    api: await page.textContent('#api-result'),
    apiState: await page.getAttribute('#api-result', 'data-state'),
  };
  t.same(
    visited.filter((u) => u.startsWith('https://127.0.0.1')),
    [],
    'the browser never requests the demo over https: nothing to trust, no certificate warning',
  );
  // Sign out: one click; authward, the provider's end-session (it asks nothing), authward's signed-out page.
  await Promise.all([page.waitForURL(/\/\.auth\/logout\/complete/), page.click('text=Sign out')]);
  t.equal(await page.textContent('h1'), 'You are signed out', "one click ends on authward's signed-out page");
  t.ok(
    visited.some((u) => new URL(u).pathname === '/session/end/confirm'),
    'signed out at the provider too (its confirmation submitted for the user)',
  );
  await Promise.all([page.waitForURL(/\/interaction\//), page.click('text=Sign in again')]);
  t.pass('"Sign in again" starts a sign-in');
  t.same(outside, [], 'no request left loopback (the provider pages load no web font)');
  return result;
}

/** Without Chromium: the suite's HTTP browser signs in; the API call the page's script makes is made here. */
async function httpSignIn(t: Test, demo: Demo) {
  t.comment(`${CHROMIUM} not found: signing in with test/helpers/browser.ts instead of Chromium`);
  const browser = new Browser();
  t.teardown(() => browser.close());
  const page = await signIn(browser, demo.url, { login: 'demo', password: 'any password' });
  t.equal(page.url, demo.url, 'back at the app after sign-in');
  t.same(
    page.hops.filter((u) => u.startsWith('https:')),
    [],
    'the browser never requests https: nothing to trust, no certificate warning',
  );
  const api = await browser.navigate(new URL('/api/hello', demo.url).href, {
    headers: { accept: 'application/json' },
    initiator: demo.url,
  });
  const text = (re: RegExp) => re.exec(page.body)?.[1]?.replace(/<[^>]*>/g, '') ?? '';
  return {
    user: text(/<span id="user">([\s\S]*?)<\/span>/),
    identity: text(/<table id="identity">([\s\S]*?)<\/table>/),
    api: api.body,
    apiState: api.status === 200 ? 'ok' : 'error',
  };
}

t.test(
  'npm run demo: sign in as demo, see the identity headers and the API answer, Ctrl-C stops everything',
  async (t) => {
    t.match(
      JSON.parse(read('package.json')).scripts.demo,
      /node demo\/\.build\/run\.js$/,
      'npm run demo runs demo/run.ts',
    );
    const demo = await startDemo(t);
    t.match(demo.output(), /Sign in as:\s+demo/, 'it prints the credentials');
    t.match(demo.url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'it prints a loopback http URL');
    t.same(Object.keys(demo.pids).sort(), ['api', 'authward', 'backend', 'oidc']);

    const seen = existsSync(CHROMIUM) ? await chromiumSignIn(t, demo) : await httpSignIn(t, demo);
    t.equal(seen.user, 'demo@example.com', 'the page greets the demo user');
    t.match(seen.identity, /x-forwarded-user\s*demo/, 'X-Forwarded-User reached the app');
    t.match(
      seen.identity,
      /x-ms-client-principal-name\s*demo@example\.com/,
      'X-MS-CLIENT-PRINCIPAL-NAME reached the app',
    );
    t.match(seen.identity, /x-forwarded-groups\s*authward-demo-users/);
    t.equal(seen.apiState, 'ok', `the API call through authward succeeded: ${seen.api}`);
    t.match(seen.api, /Hello demo, this is the sample API/);
    t.match(seen.api, /"audience": "api:\/\/demo"/, 'the API verified a token for its audience');
    t.match(seen.api, /"scope": "api:\/\/demo\/read"/, 'with the route’s scope');

    t.ok(demo.tempDir && existsSync(demo.tempDir), 'the demo keeps its files in a temp dir while running');
    const code = await demo.stop('SIGINT');
    t.equal(code, 0, `Ctrl-C: exit 0\n${demo.output().slice(-2000)}`);
    t.match(demo.output(), /\[demo\] stopped/);
    for (const [name, pid] of Object.entries(demo.pids)) {
      t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `${name} (pid ${pid}) is gone`);
    }
    t.notOk(existsSync(demo.tempDir), 'the temp dir is removed');
  },
);
