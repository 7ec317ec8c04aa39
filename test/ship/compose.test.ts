// docker-compose.yml, its authward config and the Dockerfile agree: files exist, ports and names match, the config validates.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import t from 'tap';
import { loadConfigFile } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import {
  dockerfile,
  dockerIncludes,
  interpolate,
  type Json,
  parseEnvFile,
  read,
  root,
  strings,
  variables,
  yamlDocs,
} from './files.js';

type Service = Json & {
  build?: { context?: string; target?: string };
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
};

const compose = yamlDocs('docker-compose.yml')[0] as Json & {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;
const svc = (name: string) => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
const steps = dockerfile(read('Dockerfile'));
const dockerignore = read('.dockerignore');

// Compose itself substitutes ${VAR:-default} from the shell: the defaults are what `docker compose up` uses.
const composeEnv = {};
const envFiles = (s: Service) => (s.env_file ?? []).map((f) => interpolate(f, composeEnv));
const exampleEnvPath = envFiles(svc('authward'))[0] as string;
const exampleEnv = parseEnvFile(readFileSync(join(root, exampleEnvPath), 'utf8'));
const configMount = (svc('authward').volumes ?? []).find((v) => v.includes(':/etc/authward/config.yaml'));
const configPath = configMount?.split(':')[0] ?? '';
let config: Config;

t.test('the compose authward config passes the real loader with the example env file', async (t) => {
  t.ok(configMount, 'authward mounts a config file at /etc/authward/config.yaml');
  config = loadConfigFile(join(root, configPath), exampleEnv);
  t.equal(config.tokenCache.type, 'redis', 'compose uses the Redis token cache');
  t.ok(config.tokenCache.encryptionKeys?.length, 'tokens are encrypted at rest');
  t.equal(config.identity.protocol, 'oidc');
});

t.test('every variable has a value: a default in compose, the example env file for the config', async (t) => {
  for (const v of variables(strings(compose).join('\n'))) {
    t.ok(v.hasDefault || v.name in exampleEnv, `docker-compose.yml: \${${v.name}} has a default or a value`);
  }
  const configVars = variables(strings(yamlDocs(configPath)).join('\n'));
  t.ok(configVars.length >= 3, 'the config takes its secrets from the environment');
  for (const v of configVars)
    t.ok(exampleEnv[v.name], `${configPath}: \${${v.name}} is set in ${exampleEnvPath}`);
});

t.test('files the compose file references exist', async (t) => {
  for (const [name, s] of Object.entries(services)) {
    for (const file of envFiles(s)) t.ok(existsSync(join(root, file)), `${name}: env_file ${file}`);
    for (const volume of s.volumes ?? []) {
      const [source = ''] = volume.split(':');
      if (source.startsWith('.') || source.startsWith('/'))
        t.ok(existsSync(join(root, source)), `${name}: ${source}`);
      else t.ok(compose.volumes && source in compose.volumes, `${name}: named volume ${source} is declared`);
    }
    if (s.build) {
      t.ok(
        existsSync(join(root, s.build.context ?? '.', 'Dockerfile')),
        `${name}: build context has a Dockerfile`,
      );
      t.ok(
        steps.some((i) => i.op === 'FROM' && i.stage === s.build?.target),
        `${name}: Dockerfile has stage ${s.build.target}`,
      );
    }
    const script = s.command?.find((a) => a.startsWith('demo/.build/'));
    if (script) {
      const source = script.replace('demo/.build/', 'demo/').replace(/\.js$/, '.ts');
      t.ok(existsSync(join(root, source)), `${name}: ${script} is built from ${source}`);
    }
    for (const dep of Object.keys(s.depends_on ?? {}))
      t.ok(services[dep], `${name}: depends on service ${dep}`);
  }
});

t.test('ports and names agree between the services and the authward config', async (t) => {
  const authward = svc('authward');
  const published = (s: Service, containerPort: number) =>
    (s.ports ?? []).map((p) => p.split(':')).find((p) => Number(p.at(-1)) === containerPort);
  const main = published(authward, config.listen.port);
  t.ok(main, `authward publishes listen.port ${config.listen.port}`);
  t.equal(main?.length, 3, 'published on an explicit host address');
  t.equal(main?.[0], '127.0.0.1', 'published on loopback only');
  const publicUrl = new URL(config.publicUrl);
  t.equal(Number(publicUrl.port), Number(main?.[1]), 'publicUrl uses the published port');
  t.ok(['localhost', '127.0.0.1'].includes(publicUrl.hostname), 'publicUrl is what the host browser types');
  t.ok(published(authward, config.metrics.port), `authward publishes metrics.port ${config.metrics.port}`);

  const upstream = new URL(config.upstream.url);
  const backend = svc(upstream.hostname);
  t.equal(
    backend.environment?.DEMO_BACKEND_PORT,
    upstream.port,
    'upstream.url is the backend service and port',
  );
  t.notOk(backend.ports, 'the backend is not published: only authward reaches it');

  const route = config.routes.find((r) => r.name === 'api');
  const target = new URL(route?.target ?? 'http://missing');
  const api = svc(target.hostname);
  t.equal(api.environment?.DEMO_API_PORT, target.port, 'the api route targets the api service and port');
  t.ok(
    route?.scopes.includes(api.environment?.DEMO_API_SCOPE ?? ''),
    'the route asks for the scope the API requires',
  );
  t.notOk(api.ports, 'the API is not published');

  const authority = new URL(config.identity.authority ?? '');
  const oidc = svc(authority.hostname);
  const op = oidc.environment ?? {};
  t.equal(authority.protocol, 'https:');
  t.equal(op.DEMO_OP_ISSUER, config.identity.authority, 'authority = the provider issuer');
  t.equal(op.DEMO_OP_PORT, authority.port, 'authority port = the back channel port');
  t.ok(op.DEMO_TLS_HOSTS?.split(',').includes(authority.hostname), 'the certificate names the service');
  t.equal(op.DEMO_CLIENT_ID, config.identity.clientId);
  t.equal(op.DEMO_APP_URL, config.publicUrl, 'the provider registers authward’s redirect URI');
  t.equal(api.environment?.DEMO_OP_ISSUER, config.identity.authority, 'the API trusts the same issuer');
  const login = published(oidc, Number(op.DEMO_OP_LOGIN_PORT));
  t.ok(login, 'the provider publishes its sign-in pages');
  t.equal(login?.[0], '127.0.0.1');
  const front = new URL(op.DEMO_OP_PUBLIC_URL ?? '');
  t.equal(front.protocol, 'http:', 'the browser never meets the demo CA');
  t.equal(front.port, login?.[1], 'DEMO_OP_PUBLIC_URL uses the published port');
  t.notOk(published(oidc, Number(op.DEMO_OP_PORT)), 'the https back channel is not published');

  // The CA travels on one named volume: written by oidc, read by authward (identity.caFile) and the API.
  const caDir = posix.dirname(config.identity.caFile ?? '');
  const volumeAt = (s: Service) => (s.volumes ?? []).find((v) => v.split(':')[1] === caDir)?.split(':')[0];
  t.ok(volumeAt(authward), 'authward mounts the CA volume');
  t.equal(volumeAt(oidc), volumeAt(authward), 'oidc writes to the volume authward reads');
  t.equal(volumeAt(api), volumeAt(authward), 'the API reads the same volume');
  t.equal(op.DEMO_CA_FILE, config.identity.caFile);
  t.equal(api.environment?.DEMO_CA_FILE, config.identity.caFile);

  const redis = new URL(config.tokenCache.url ?? '');
  t.ok(services[redis.hostname], 'tokenCache.url names the redis service');
  t.equal(redis.port, '6379');

  const grace = Number(/^(\d+)s$/.exec(authward.stop_grace_period ?? '')?.[1]);
  t.ok(grace > config.shutdownGraceSeconds, 'stop_grace_period > shutdownGraceSeconds');
  for (const dep of ['redis', 'oidc']) t.equal(authward.depends_on?.[dep]?.condition, 'service_healthy');
});

t.test('Dockerfile: multi-stage, production deps only, non-root, health check, signals, ports', async (t) => {
  const runtime = steps.filter((i) => i.stage === 'runtime');
  const last = steps.filter((i) => i.op === 'FROM').at(-1);
  t.equal(last?.stage, 'runtime', 'runtime is the last stage (the default target)');
  const base = /ARG NODE_IMAGE=node:(\d+)-/.exec(steps.map((i) => `${i.op} ${i.args}`).join('\n'));
  t.ok(Number(base?.[1]) >= 22, `base image is Node ${base?.[1]} (22 or newer)`);
  t.ok(
    steps.some((i) => i.stage === 'prod-deps' && /npm ci --omit=dev/.test(i.args)),
    'prod-deps installs with npm ci --omit=dev',
  );
  const copies = runtime.filter((i) => i.op === 'COPY');
  t.ok(
    copies.some((c) => /--from=prod-deps\s+\S*node_modules/.test(c.args)),
    'node_modules come from prod-deps',
  );
  t.notOk(
    copies.some((c) => /--from=(build|demo)\s+\S*node_modules/.test(c.args)),
    'no dev node_modules',
  );
  t.ok(
    copies.some((c) => /--from=build\s+\S*dist/.test(c.args)),
    'dist comes from the build stage',
  );
  const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args ?? '';
  t.match(user, /^[1-9]\d*(:\d+)?$/, 'a numeric non-root USER (runAsNonRoot can verify it)');
  t.ok(runtime.some((i) => i.op === 'STOPSIGNAL' && i.args === 'SIGTERM'));
  const expose =
    runtime
      .find((i) => i.op === 'EXPOSE')
      ?.args.split(/\s+/)
      .map(Number) ?? [];
  t.ok(
    expose.includes(config.listen.port) && expose.includes(config.metrics.port),
    'EXPOSE listen and metrics ports',
  );
  const cmd = runtime.filter((i) => i.op === 'CMD').at(-1)?.args;
  t.same(
    JSON.parse(cmd ?? 'null'),
    ['/bin/sh', '-c', 'exec node $(node dist/cli.js heap-flags) dist/cli.js'],
    'node runs dist/cli.js as PID 1 (exec), its heap sized from the memory limit',
  );
  const env = runtime
    .filter((i) => i.op === 'ENV')
    .map((i) => i.args)
    .join(' ');
  t.match(
    env,
    /AUTHWARD_CONFIG=\/etc\/authward\/config\.yaml/,
    'AUTHWARD_CONFIG is where compose mounts the file',
  );
  const health = runtime.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
  t.match(health, /CMD \["node", "-e"/, 'the health check runs node, not curl');
  const probe = new URL(/AUTHWARD_HEALTHCHECK_URL=(\S+)/.exec(env)?.[1] ?? 'http://missing');
  t.equal(Number(probe.port), config.listen.port, 'the health check probes listen.port');
  t.equal(probe.pathname, config.health.livenessPath, 'the health check probes health.livenessPath');
  t.notOk(
    steps.some((i) => i.stage === 'runtime' && /demo|oidc-provider/.test(i.args)),
    'no demo in runtime',
  );
});

t.test('Dockerfile COPY sources exist and .dockerignore lets them in', async (t) => {
  for (const copy of steps.filter((i) => i.op === 'COPY' && !i.args.includes('--from='))) {
    const parts = copy.args.split(/\s+/).filter((a) => !a.startsWith('--'));
    for (const source of parts.slice(0, -1)) {
      t.ok(existsSync(join(root, source)), `${copy.stage}: ${source} exists`);
      t.ok(dockerIncludes(dockerignore, source), `${copy.stage}: ${source} is in the build context`);
    }
  }
  for (const secret of [
    '.env',
    'node_modules',
    'dist',
    '.git',
    'demo/.build',
    'deploy/compose/example.env',
  ]) {
    t.notOk(dockerIncludes(dockerignore, secret), `${secret} stays out of the build context`);
  }
  t.ok(
    existsSync(join(root, dirname('demo/tsconfig.json'), 'tsconfig.json')),
    'the demo stage can build the demo',
  );
});
