// Scenarios 12a/12b as an extra target of the anchor rig (../shared/bench/anchors.sh, EXTRA_CMD), so
// nginx + auth_request + authward is measured in the same run as Apache + mod_auth_openidc + Redis:
//
//   EXTRA_NAME=authward-fwd EXTRA_CMD="node <checkout>/.bench-build/bench/forward-auth-target.js" \
//   EXTRA_HEADER_CMD="sh -c 'while [ ! -s $FWD_COOKIE_FILE ]; do sleep 0.2; done; cat $FWD_COOKIE_FILE'" \
//   EXTRA_PATH=/api/orders/ FWD_COOKIE_FILE=<file> ./anchors.sh
//
// Listens (nginx) on BENCH_PORT in front of BENCH_BACKEND_URL; its own test IdP; the user signs in
// through nginx, then the `Cookie:` line is written to FWD_COOKIE_FILE (mode 0600) for wrk. Runs until
// SIGTERM, then stops authward and nginx (bench/lib/procs.ts). EXTRA_PATH `/` is 12a, `/api/orders/` 12b.
import { rmSync, writeFileSync } from 'node:fs';
import { startBenchIdp } from './lib/api-client.js';
import { startAuthward } from './lib/authward.js';
import { startForwardAuthNginx } from './lib/peers.js';
import { installCleanup } from './lib/procs.js';
import { INSTANCES } from './lib/scenarios.js';
import { signInUser } from './lib/sessions.js';
import { loadSettings } from './lib/settings.js';
import { findTools } from './lib/tools.js';

async function main() {
  installCleanup();
  const port = Number(process.env.BENCH_PORT);
  const backendUrl = process.env.BENCH_BACKEND_URL;
  const cookieFile = process.env.FWD_COOKIE_FILE;
  if (!port || !backendUrl || !cookieFile)
    throw new Error('BENCH_PORT, BENCH_BACKEND_URL and FWD_COOKIE_FILE are required');
  rmSync(cookieFile, { force: true });
  // SIGTERM (installCleanup): authward and nginx are stopped, the IdP ends with this process.
  process.on('exit', () => rmSync(cookieFile, { force: true }));
  const say = (line: string) => process.stderr.write(`[forward-auth-target] ${line}\n`);
  const nginx = findTools(['nginx'], say).nginx;
  if (!nginx) throw new Error('nginx not installed');
  const s = loadSettings();
  const { idp } = await startBenchIdp();
  const aw = await startAuthward(s, INSTANCES.fwd, {
    idp,
    backendUrl,
    publicUrl: `http://127.0.0.1:${port}`,
  });
  const front = await startForwardAuthNginx(s, nginx, port, {
    authward: new URL(aw.url).host,
    backend: new URL(backendUrl).host,
  });
  const body = await (await fetch(backendUrl)).text();
  const cookie = await signInUser(idp, { ...aw, url: front.url }, 'bench-user', body);
  writeFileSync(cookieFile, `Cookie: ${cookie}\n`, { mode: 0o600 });
  say(`nginx ${front.url} -> authward ${aw.url} (pid ${aw.child.pid}); signed in, logs in ${s.runDir}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`forward-auth-target failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
