// deploy/kubernetes: every manifest valid against the Kubernetes API schemas, and the sidecar wired as authward needs it.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import t from 'tap';
import { loadConfigFile } from '../../src/config/load.js';
import { type Config, ConfigSchema } from '../../src/config/schema.js';
import { newKey } from '../helpers/config.js';
import { type Json, yamlDocs } from './files.js';
import { type Manifest, unknownFields, validateSchema } from './k8s-schema.js';

const VARIANTS = ['deploy/kubernetes', 'deploy/kubernetes/workload-identity'];
const CLIENT_ASSERTION = '/var/run/secrets/azure/tokens/azure-identity-token';
const IMAGE_CONFIG = '/etc/authward/config.yaml'; // the image's AUTHWARD_CONFIG

type Probe = { httpGet?: { path?: string; port?: string | number } };
type Port = { name?: string; containerPort: number };
type Container = Json & {
  name: string;
  image: string;
  ports?: Port[];
  env?: { name: string; value?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
  resources?: { requests?: Json; limits?: Json };
  securityContext?: Json;
  volumeMounts?: { name: string; mountPath: string; subPath?: string }[];
  command?: string[];
  args?: string[];
};
type PodSpec = Json & {
  containers: Container[];
  securityContext?: Json;
  terminationGracePeriodSeconds?: number;
  serviceAccountName?: string;
  volumes?: (Json & { name: string; secret?: { secretName: string }; configMap?: { name: string } })[];
};

/** Names of the schema's secret fields (`x`, given in files as `xFile`). */
const SECRET_FIELDS = new Set<string>();
(function collect(schema: Json) {
  for (const [k, sub] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
    if (sub.secret) SECRET_FIELDS.add(k);
    collect(sub);
    if (sub.items) collect(sub.items as Json);
  }
})(ConfigSchema as unknown as Json);

function manifestsOf(dir: string): Manifest[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) =>
      yamlDocs(join(dir, f)).map((doc) => ({ file: join(dir, f), doc: doc as Manifest['doc'] })),
    );
}

const all = VARIANTS.flatMap(manifestsOf);

t.test('every manifest passes the Kubernetes schema (kubernetes-models)', async (t) => {
  t.ok(all.length >= 10, `${all.length} manifests`);
  for (const m of all) {
    t.equal(
      await validateSchema(m.doc),
      undefined,
      `${m.file}: ${m.doc.kind} ${(m.doc.metadata as Json).name}`,
    );
  }
  // A wrong type proves the validator can fail.
  const deployment = all.find((m) => m.doc.kind === 'Deployment')?.doc as unknown as Json & { spec: Json };
  const broken = {
    ...deployment,
    spec: { ...deployment.spec, replicas: 'two' },
  } as unknown as Manifest['doc'];
  t.match(await validateSchema(broken), /replicas must be integer/, 'a wrong type is reported');
});

t.test('no manifest has a field the Kubernetes API does not know', async (t) => {
  // A deliberate typo proves the check can fail.
  const deployment = all.find((m) => m.doc.kind === 'Deployment')?.doc as unknown as Json & {
    spec: { template: { spec: PodSpec } };
  };
  const typo = structuredClone(deployment);
  (typo.spec.template.spec.containers[0] as Json).livenesProbe = { httpGet: { path: '/x', port: 1 } };
  const problems = unknownFields([...all.map((m) => m.doc), typo as unknown as Manifest['doc']]);
  all.forEach((m, i) => {
    t.same(problems.get(i) ?? [], [], `${m.file}: ${m.doc.kind}`);
  });
  t.match(problems.get(all.length)?.join(' '), /livenesProbe/, 'a misspelt field is reported');
  t.notOk(problems.get(-1), 'no other compiler problem');
});

for (const dir of VARIANTS) {
  t.test(`${dir}: kustomization lists every manifest`, async (t) => {
    const [k] = yamlDocs(join(dir, 'kustomization.yaml')) as (Json & { resources: string[] })[];
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    t.same([...(k?.resources ?? [])].sort(), files.sort());
  });

  t.test(`${dir}: the authward sidecar`, async (t) => {
    const ms = manifestsOf(dir);
    const of = <T>(kind: string) => ms.filter((m) => m.doc.kind === kind).map((m) => m.doc as unknown as T);
    const [deployment] = of<
      Json & { spec: { template: { metadata: { labels: Json; annotations?: Json }; spec: PodSpec } } }
    >('Deployment');
    const pod = deployment?.spec.template.spec as PodSpec;
    const labels = deployment?.spec.template.metadata.labels as Record<string, string>;
    const authward = pod.containers.find((c) => c.name === 'authward') as Container;
    const app = pod.containers.find((c) => c.name !== 'authward') as Container;
    t.ok(authward && app, 'an app container and an authward sidecar');
    t.match(authward.image, /authward/);
    t.notOk(authward.command ?? authward.args, 'authward runs the image CMD (args would replace it)');

    // The config the sidecar reads: from the ConfigMap it mounts at AUTHWARD_CONFIG.
    const configPath = authward.env?.find((e) => e.name === 'AUTHWARD_CONFIG')?.value ?? IMAGE_CONFIG;
    const volume = (name: string) => pod.volumes?.find((v) => v.name === name);
    const configMount = authward.volumeMounts?.find(
      (m) => m.mountPath === configPath || posix.join(m.mountPath, 'config.yaml') === configPath,
    );
    const cmName = volume(configMount?.name ?? '')?.configMap?.name;
    const [cm] = of<{ metadata: { name: string }; data: Record<string, string> }>('ConfigMap').filter(
      (c) => c.metadata.name === cmName,
    );
    const configText = cm?.data[configMount?.subPath ?? posix.basename(configPath)];
    t.ok(configText, `${configPath} comes from ConfigMap ${cmName}`);

    // Secret files: each *File path lies under the mount of a Secret that has that key.
    const secretMounts = (authward.volumeMounts ?? []).filter((m) => volume(m.name)?.secret);
    const secrets = of<{ metadata: { name: string }; stringData?: Record<string, string>; data?: Json }>(
      'Secret',
    );
    const files = [...(configText ?? '').matchAll(/^\s*(\w+File):\s*(\S+)\s*$/gm)]
      .map((m) => ({
        field: m[1] as string,
        path: m[2] as string,
      }))
      .filter((f) => SECRET_FIELDS.has(f.field.replace(/File$/, '')));
    t.ok(files.length >= 2, 'secrets arrive as *File paths');
    const tmp = mkdtempSync(join(tmpdir(), 'authward-k8s-'));
    t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
    let realText = configText ?? '';
    let placeholderText = configText ?? '';
    for (const { field, path } of files) {
      const mount = secretMounts.find((m) => path.startsWith(`${m.mountPath}/`));
      const secretName = volume(mount?.name ?? '')?.secret?.secretName;
      const secret = secrets.find((s) => s.metadata.name === secretName);
      const key = mount ? path.slice(mount.mountPath.length + 1) : '';
      const value = secret?.stringData?.[key] ?? secret?.data?.[key];
      t.ok(value !== undefined, `${field}: ${path} is key ${key} of Secret ${secretName}`);
      const real = join(tmp, `${field}.real`);
      const placeholder = join(tmp, `${field}.placeholder`);
      writeFileSync(real, /keys/i.test(field) ? `${newKey()}\n` : 'a-client-secret\n');
      writeFileSync(placeholder, String(value));
      realText = realText.replace(path, real);
      placeholderText = placeholderText.replace(path, placeholder);
    }
    writeFileSync(join(tmp, 'real.yaml'), realText);
    writeFileSync(join(tmp, 'placeholder.yaml'), placeholderText);
    const config: Config = loadConfigFile(join(tmp, 'real.yaml'), {});
    t.throws(
      () => loadConfigFile(join(tmp, 'placeholder.yaml'), {}),
      'the Secret’s placeholders never validate',
    );

    // Probes on the configured health paths, on authward's listen port.
    const portOf = (c: Container, p: string | number | undefined) =>
      typeof p === 'number' ? p : c.ports?.find((x) => x.name === p)?.containerPort;
    t.equal(authward.livenessProbe?.httpGet?.path, config.health.livenessPath, 'liveness probe path');
    t.equal(authward.readinessProbe?.httpGet?.path, config.health.readinessPath, 'readiness probe path');
    t.equal(portOf(authward, authward.livenessProbe?.httpGet?.port), config.listen.port);
    t.equal(portOf(authward, authward.readinessProbe?.httpGet?.port), config.listen.port);
    if (authward.startupProbe) t.equal(authward.startupProbe.httpGet?.path, config.health.livenessPath);

    // Shutdown: the kubelet waits long enough for the preStop sleep and the drain.
    const preStop = authward.lifecycle?.preStop?.sleep?.seconds ?? 0;
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    t.ok(
      grace > config.shutdownGraceSeconds,
      `terminationGracePeriodSeconds ${grace} > shutdownGraceSeconds`,
    );
    t.ok(grace > preStop + config.shutdownGraceSeconds, 'and > preStop sleep + shutdownGraceSeconds');

    // The Service reaches authward's port, never the app's; the app binds loopback only.
    const [service] = of<{
      spec: { selector: Record<string, string>; ports: { name: string; targetPort: string | number }[] };
    }>('Service');
    for (const [k, v] of Object.entries(service?.spec.selector ?? {})) t.equal(labels[k], v, `selector ${k}`);
    for (const p of service?.spec.ports ?? []) {
      t.ok(portOf(authward, p.targetPort), `Service port ${p.name} targets an authward port`);
      t.notOk(portOf(app, p.targetPort), `Service port ${p.name} does not target the app`);
    }
    const http = service?.spec.ports.find((p) => p.name === 'http');
    t.equal(portOf(authward, http?.targetPort), config.listen.port, 'Service http -> listen.port');
    t.notOk(app.ports, 'the app declares no ports');
    t.ok(
      ['127.0.0.1', 'localhost'].includes(new URL(config.upstream.url).hostname),
      'upstream is the pod loopback',
    );
    t.ok(config.metrics.enabled);
    t.equal(
      authward.ports?.find((p) => p.name === 'metrics')?.containerPort,
      config.metrics.port,
      'a metrics port',
    );

    // Hardening and resources, for both containers.
    const podSc = pod.securityContext ?? {};
    for (const c of pod.containers) {
      const sc = c.securityContext ?? {};
      t.equal(sc.readOnlyRootFilesystem, true, `${c.name}: readOnlyRootFilesystem`);
      t.equal(sc.runAsNonRoot ?? podSc.runAsNonRoot, true, `${c.name}: runAsNonRoot`);
      t.equal(sc.allowPrivilegeEscalation, false, `${c.name}: allowPrivilegeEscalation false`);
      t.ok(
        c.resources?.requests?.memory && c.resources?.limits?.memory,
        `${c.name}: memory request and limit`,
      );
      t.ok(c.resources?.requests?.cpu, `${c.name}: cpu request`);
    }
    t.ok(Number(authward.securityContext?.runAsUser) > 0, 'authward runs as a numeric non-root uid');

    if (dir.endsWith('workload-identity')) {
      const [sa] = of<{ metadata: { name: string; annotations: Record<string, string> } }>('ServiceAccount');
      t.equal(pod.serviceAccountName, sa?.metadata.name, 'the pod uses the annotated ServiceAccount');
      t.equal(
        sa?.metadata.annotations['azure.workload.identity/client-id'],
        config.identity.clientId,
        'client-id = identity.clientId',
      );
      t.equal(labels['azure.workload.identity/use'], 'true', 'pod label azure.workload.identity/use');
      t.equal(config.identity.clientAssertionFile, CLIENT_ASSERTION, 'the projected token is the credential');
      t.notOk(config.identity.clientSecret, 'no client secret');
    } else {
      t.ok(config.identity.clientSecret, 'the client secret comes from the Secret');
    }
  });
}
