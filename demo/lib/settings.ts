// What `npm run demo` runs where: loopback ports (each overridable), and the authward config it writes.
import { createServer } from 'node:net';
import { stringify } from 'yaml';

export const HOST = '127.0.0.1';
export const CLIENT_ID = 'authward-demo';
export const API_SCOPE = 'api://demo/read';

/** Each port and the environment variable that moves it. */
export const PORTS = {
  authward: ['DEMO_PORT', 8080],
  metrics: ['DEMO_METRICS_PORT', 9464],
  oidc: ['DEMO_OP_PORT', 8443],
  oidcLogin: ['DEMO_OP_LOGIN_PORT', 8081],
  backend: ['DEMO_BACKEND_PORT', 3000],
  api: ['DEMO_API_PORT', 3001],
} as const;

export type Ports = Record<keyof typeof PORTS, number>;

export function portsFromEnv(env: NodeJS.ProcessEnv): Ports {
  const out = {} as Ports;
  const seen = new Map<number, string>();
  for (const [key, [name, fallback]] of Object.entries(PORTS) as [
    keyof Ports,
    (typeof PORTS)[keyof Ports],
  ][]) {
    const raw = env[name] ?? String(fallback);
    const port = Number(raw);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`${name}=${raw} is not a port`);
    const other = seen.get(port);
    if (other) throw new Error(`${name} and ${other} are both ${port}`);
    seen.set(port, name);
    out[key] = port;
  }
  return out;
}

/** Fails with the variable to set when a port is taken, before anything starts. */
export async function checkPortsFree(ports: Ports): Promise<void> {
  const busy: string[] = [];
  for (const [key, port] of Object.entries(ports) as [keyof Ports, number][]) {
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, HOST, () => s.close(() => resolve(true)));
    });
    if (!free) busy.push(`${HOST}:${port} is in use: set ${PORTS[key][0]} to a free port`);
  }
  if (busy.length > 0) throw new Error(busy.join('\n'));
}

/** `${NAME}`: authward's config loader substitutes the environment variable (secrets stay out of the file). */
const fromEnv = (name: string) => `\${${name}}`;

/** authward's config for the demo: memory token cache, /api -> the sample API with its scope. */
export function authwardConfig(ports: Ports, caFile: string): string {
  const config = {
    listen: { host: HOST, port: ports.authward },
    publicUrl: `http://${HOST}:${ports.authward}`,
    shutdownGraceSeconds: 3,
    identity: {
      protocol: 'oidc',
      authority: `https://${HOST}:${ports.oidc}`,
      clientId: CLIENT_ID,
      clientSecret: fromEnv('AUTHWARD_CLIENT_SECRET'),
      // The demo provider's back channel uses a certificate from a CA made at start: trust it here only.
      caFile,
    },
    session: { keys: [fromEnv('AUTHWARD_SESSION_KEY')] },
    tokenCache: { type: 'memory' },
    upstream: { url: `http://${HOST}:${ports.backend}` },
    routes: [{ name: 'api', path: '/api', target: `http://${HOST}:${ports.api}`, scopes: [API_SCOPE] }],
    logging: { level: 'info', pretty: true },
    metrics: { enabled: true, host: HOST, port: ports.metrics },
  };
  return `# Written by npm run demo (demo/lib/settings.ts); secrets arrive as environment variables.\n${stringify(config)}`;
}
