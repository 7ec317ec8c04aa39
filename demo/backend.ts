// Entry: the sample legacy backend as a process (started by demo/run.ts, or as the `backend` compose service).
//
// DEMO_BACKEND_HOST / DEMO_BACKEND_PORT   where it listens: loopback (or the compose network only),
// never published, so the identity headers it reads can only come from authward.
import { startBackend } from './lib/backend.js';
import { env, envPort, log, runMain } from './lib/main.js';

runMain('backend', async () => {
  const host = env('DEMO_BACKEND_HOST', '127.0.0.1');
  const port = envPort('DEMO_BACKEND_PORT', 3000);
  const backend = await startBackend({ host, port });
  log('backend', `legacy app on http://${host}:${port} (reached only through authward)`);
  return { info: { url: `http://${host}:${port}` }, close: () => backend.close() };
});
