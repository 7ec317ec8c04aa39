// Entry: the sample API as a process (started by demo/run.ts, or as the `api` compose service).
//
// DEMO_API_HOST / DEMO_API_PORT   where it listens (loopback: only authward calls it)
// DEMO_OP_ISSUER, DEMO_CA_FILE    the provider whose tokens it accepts, and the CA of its certificate
// DEMO_API_AUDIENCE, DEMO_API_SCOPE   what a token must carry (aud, scope)
import { readFileSync } from 'node:fs';
import { startApi } from './lib/api.js';
import { env, envPort, log, runMain } from './lib/main.js';

runMain('api', async () => {
  const host = env('DEMO_API_HOST', '127.0.0.1');
  const port = envPort('DEMO_API_PORT', 3001);
  const audience = env('DEMO_API_AUDIENCE', 'api://demo');
  const scope = env('DEMO_API_SCOPE', `${audience}/read`);
  const api = await startApi({
    host,
    port,
    issuer: env('DEMO_OP_ISSUER', 'https://127.0.0.1:8443'),
    caPem: readFileSync(env('DEMO_CA_FILE'), 'utf8'),
    audience,
    scope,
  });
  log('api', `sample API on http://${host}:${port} (accepts tokens for ${audience} with scope ${scope})`);
  return { info: { url: `http://${host}:${port}` }, close: () => api.close() };
});
