// Entry: the demo OpenID provider as a process (started by demo/run.ts, or as the `oidc` compose service).
//
// DEMO_OP_ISSUER          https origin authward and the API reach the back channel at
// DEMO_OP_PUBLIC_URL      http origin the browser reaches the sign-in pages at
// DEMO_OP_HOST / _PORT / _LOGIN_PORT   where the two listeners bind
// DEMO_TLS_HOSTS          names in the back channel's certificate
// DEMO_TLS_DIR            private directory for the CA and keys (default: a fresh temp dir)
// DEMO_CA_FILE            where to publish the CA certificate (for identity.caFile and the API)
// DEMO_CLIENT_ID, AUTHWARD_CLIENT_SECRET   the client registered for authward (the same secret it uses)
// DEMO_APP_URL            authward's publicUrl (redirect URI = DEMO_APP_URL + DEMO_CALLBACK_PATH)
// DEMO_API_SCOPES         API scopes, e.g. api://demo/read
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { env, envList, envPort, log, runMain } from './lib/main.js';
import { startProvider } from './lib/provider.js';
import { createServerTls } from './lib/tls.js';

runMain('oidc', async () => {
  const port = envPort('DEMO_OP_PORT', 8443);
  const loginPort = envPort('DEMO_OP_LOGIN_PORT', 8081);
  const issuer = env('DEMO_OP_ISSUER', `https://127.0.0.1:${port}`);
  const publicUrl = env('DEMO_OP_PUBLIC_URL', `http://127.0.0.1:${loginPort}`);
  const appUrl = env('DEMO_APP_URL', 'http://127.0.0.1:8080').replace(/\/+$/, '');
  const ownDir = !process.env.DEMO_TLS_DIR;
  const tlsDir = process.env.DEMO_TLS_DIR || mkdtempSync(join(tmpdir(), 'authward-demo-op-'));
  const tls = await createServerTls(tlsDir, envList('DEMO_TLS_HOSTS', new URL(issuer).hostname));
  const caFile = env('DEMO_CA_FILE', join(tlsDir, 'ca.pem'));
  // Written then renamed, so a reader waiting for the file never sees half of it.
  writeFileSync(`${caFile}.tmp`, tls.caPem, { mode: 0o644 });
  renameSync(`${caFile}.tmp`, caFile);

  const provider = await startProvider({
    host: env('DEMO_OP_HOST', '127.0.0.1'),
    port,
    loginPort,
    issuer,
    publicUrl,
    tls,
    client: {
      clientId: env('DEMO_CLIENT_ID', 'authward-demo'),
      clientSecret: env('AUTHWARD_CLIENT_SECRET'),
      redirectUris: [`${appUrl}${env('DEMO_CALLBACK_PATH', '/.auth/login/aad/callback')}`],
    },
    appOrigins: [new URL(appUrl).origin],
    apiScopes: envList('DEMO_API_SCOPES', 'api://demo/read'),
  });
  log('oidc', `issuer ${issuer} (https, back channel); sign-in pages at ${publicUrl}`);
  return {
    info: { issuer, publicUrl, caFile },
    async close() {
      await provider.close();
      if (ownDir) rmSync(tlsDir, { recursive: true, force: true });
    },
  };
});
