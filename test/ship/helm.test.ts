// deploy/helm/authward, rendered offline by the test-side subset renderer (no helm binary here): every
// object valid against the Kubernetes and prometheus-operator schemas, the wiring right, and the
// config it writes accepted by authward's own loader.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { IContainer } from 'kubernetes-models/v1/Container';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { newKey } from '../helpers/config.js';
import { type Rendered, renderChart, type Values } from '../helpers/helm-chart.js';
import { type Json, read, root, yamlDocs } from './files.js';
import { unknownFields, validateSchema } from './k8s-schema.js';

const CHART = join(root, 'deploy/helm/authward');
const version = (JSON.parse(read('package.json')) as { version: string }).version;
const RELEASE = { name: 'legacy-app', namespace: 'apps' };

type Doc = Rendered['objects'][number]['doc'];
// Containers as kubernetes-models types them (every object is validated against its schema first).
type Container = IContainer;
interface Pod {
  metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  spec: {
    containers: Container[];
    securityContext: Json;
    terminationGracePeriodSeconds: number;
    serviceAccountName: string;
    volumes: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
  };
}

/** The default values, then each ci/*-values.yaml (what chart-testing lints), by name. */
const VALUE_SETS: [string, Values][] = [
  ['defaults', {}],
  ...readdirSync(join(CHART, 'ci'))
    .filter((f) => f.endsWith('-values.yaml'))
    .sort()
    .map((f): [string, Values] => [f, parse(read(`deploy/helm/authward/ci/${f}`)) as Values]),
];

const render = (values: Values = {}) => renderChart(CHART, RELEASE, values);

function pieces(r: Rendered) {
  const of = (kind: string) => r.objects.filter((o) => o.doc.kind === kind).map((o) => o.doc);
  const [deployment] = of('Deployment') as unknown as { spec: { template: Pod } }[];
  const pod = deployment?.spec.template as Pod;
  const authward = pod.spec.containers.find((c) => c.name === 'authward') as Container;
  return { of, pod, authward };
}

/** The config.yaml authward reads (through its mount, from the ConfigMap), and its secret file paths. */
function configText(r: Rendered): string {
  const { of, pod, authward } = pieces(r);
  const path = authward.env?.find((e) => e.name === 'AUTHWARD_CONFIG')?.value ?? '';
  const mount = authward.volumeMounts?.find((m) => m.mountPath === path);
  const volume = pod.spec.volumes.find((v) => v.name === mount?.name);
  const cm = of('ConfigMap').find((c) => (c.metadata as { name: string }).name === volume?.configMap?.name) as
    | { data: Record<string, string> }
    | undefined;
  return cm?.data[mount?.subPath ?? posix.basename(path)] ?? '';
}

/** `xFile` paths in the config, and where each lies in the mounted Secret. */
function secretFiles(r: Rendered): { field: string; path: string; secret?: string; key: string }[] {
  const { pod, authward } = pieces(r);
  const out: { field: string; path: string; secret?: string; key: string }[] = [];
  (function walk(v: unknown) {
    if (!v || typeof v !== 'object') return;
    for (const [k, sub] of Object.entries(v)) {
      if (/File$/.test(k) && typeof sub === 'string' && k !== 'caFile' && k !== 'clientAssertionFile') {
        const mount = authward.volumeMounts?.find((m) => sub.startsWith(`${m.mountPath}/`));
        const secret = pod.spec.volumes.find((x) => x.name === mount?.name)?.secret?.secretName;
        out.push({ field: k, path: sub, secret, key: mount ? sub.slice(mount.mountPath.length + 1) : '' });
      } else walk(sub);
    }
  })(parse(configText(r)));
  return out;
}

/** Loads the rendered config with each secret file replaced by a real one (or the Secret's own value). */
function loadRendered(t: Test, r: Rendered, fill: (f: { field: string; key: string }) => string): Config {
  const tmp = mkdtempSync(join(tmpdir(), 'authward-helm-'));
  t.teardown(() => rmSync(tmp, { recursive: true, force: true }));
  let text = configText(r);
  for (const f of secretFiles(r)) {
    const file = join(tmp, f.key);
    writeFileSync(file, fill(f));
    text = text.replace(f.path, file);
  }
  writeFileSync(join(tmp, 'config.yaml'), text);
  return loadConfigFile(join(tmp, 'config.yaml'), {});
}

const realSecret = (f: { field: string }) =>
  /keys/i.test(f.field) ? `${newKey()}\n${newKey()}\n` : 'a-real-secret\n';

const rendered = VALUE_SETS.map(([name, values]) => ({ name, values, r: render(values) }));

t.test('every rendered object passes the Kubernetes and prometheus-operator schemas', async (t) => {
  const all = rendered.flatMap(({ name, r }) => r.objects.map((o) => ({ name, ...o })));
  for (const o of all) {
    const label = `${o.name}: ${o.file} ${o.doc.kind}`;
    t.equal(await validateSchema(o.doc), undefined, label);
  }
  const problems = unknownFields(all.map((o) => o.doc));
  all.forEach((o, i) => {
    t.same(problems.get(i) ?? [], [], `${o.name}: ${o.doc.kind} has only fields the API knows`);
  });
  t.notOk(problems.get(-1), 'no other compiler problem');
  const monitors = all.filter((o) => o.doc.kind === 'ServiceMonitor');
  t.ok(monitors.length > 0, 'a ServiceMonitor was among them');
  // A wrong type in a ServiceMonitor proves its validator can fail.
  const broken = structuredClone(monitors[0]?.doc) as Doc & { spec: { endpoints: Json[] } };
  (broken.spec.endpoints[0] as Json).port = 9464;
  t.match(await validateSchema(broken), /port must be string/, 'a wrong ServiceMonitor is reported');
});

for (const { name, values, r } of rendered) {
  t.test(`${name}: wiring`, async (t) => {
    const { of, pod, authward } = pieces(r);
    const secrets = of('Secret') as unknown as {
      metadata: { name: string };
      stringData: Record<string, string>;
    }[];
    const config = loadRendered(t, r, realSecret);

    // The image: the chart's appVersion is package.json's; a digest pins it.
    const digest = (values.image as { digest?: string } | undefined)?.digest;
    t.equal(authward.image, `ghcr.io/authward/authward:${version}${digest ? `@${digest}` : ''}`, 'image');

    // Probes on the config's health paths, on its listen port.
    const port = (p: string) => authward.ports?.find((x) => x.name === p)?.containerPort;
    t.equal(authward.livenessProbe?.httpGet?.path, config.health.livenessPath, 'liveness path');
    t.equal(authward.readinessProbe?.httpGet?.path, config.health.readinessPath, 'readiness path');
    t.equal(authward.startupProbe?.httpGet?.path, config.health.livenessPath, 'startup path');
    for (const probe of [authward.livenessProbe, authward.readinessProbe, authward.startupProbe])
      t.equal(port(String(probe?.httpGet?.port)), config.listen.port, 'probe on listen.port');
    t.equal(port('metrics'), config.metrics.port, 'metrics port');

    // Drain: the kubelet waits for the preStop sleep and authward's own grace.
    const sleep = authward.lifecycle?.preStop?.sleep?.seconds ?? 0;
    t.ok(pod.spec.terminationGracePeriodSeconds > sleep + config.shutdownGraceSeconds, 'grace period');

    // Secrets only as files of the mounted Secret; the chart's Secret has every key the config reads.
    const files = secretFiles(r);
    t.ok(
      files.some((f) => f.field === 'keysFile'),
      'session keys from a file',
    );
    for (const f of files) {
      t.ok(f.secret, `${f.field}: ${f.path} is in a mounted Secret`);
      const made = secrets.find((s) => s.metadata.name === f.secret);
      if (made) t.ok(made.stringData[f.key], `${f.field}: key ${f.key} of Secret ${f.secret}`);
    }
    if (secrets.length > 0) {
      t.throws(
        () => loadRendered(t, r, (f) => secrets[0]?.stringData[f.key] ?? ''),
        'the chart’s placeholder secrets never validate',
      );
    }
    if (config.tokenCache.type === 'redis') t.ok(config.tokenCache.encryptionKeys, 'Redis entries encrypted');

    // The Service reaches authward's ports only.
    const [service] = of('Service') as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] };
    }[];
    for (const [k, v] of Object.entries(service?.spec.selector ?? {}))
      t.equal(pod.metadata.labels[k], v, `selector ${k}`);
    for (const p of service?.spec.ports ?? []) t.ok(port(p.targetPort), `Service ${p.name} -> authward`);
    t.equal(port(service?.spec.ports.find((p) => p.name === 'http')?.targetPort ?? ''), config.listen.port);

    // Hardening and a memory limit for every container.
    for (const c of pod.spec.containers) {
      const sc = c.securityContext ?? {};
      t.equal(sc.readOnlyRootFilesystem, true, `${c.name}: read-only root fs`);
      t.equal(sc.runAsNonRoot ?? pod.spec.securityContext.runAsNonRoot, true, `${c.name}: non-root`);
      t.equal(sc.allowPrivilegeEscalation, false, `${c.name}: no privilege escalation`);
      t.ok(c.resources?.limits?.memory, `${c.name}: memory limit`);
    }
    t.ok(Number(authward.securityContext?.runAsUser) > 0, 'numeric non-root uid');

    // Sidecar mode: the app behind authward on the pod's loopback, with no port of its own.
    const app = pod.spec.containers.find((c) => c.name !== 'authward');
    if ((values.app as { enabled?: boolean } | undefined)?.enabled) {
      t.ok(app, 'the app container');
      t.notOk(app?.ports, 'the app declares no ports');
      t.equal(config.upstream.url, 'http://127.0.0.1:3000', 'upstream is the app on loopback');
    } else {
      t.equal(pod.spec.containers.length, 1, 'standalone: authward alone');
    }

    // More than one replica: Redis, and a PodDisruptionBudget on the same pods.
    const replicas = (of('Deployment')[0] as unknown as { spec: { replicas: number } }).spec.replicas;
    const [pdb] = of('PodDisruptionBudget') as unknown as { spec: { selector: { matchLabels: Json } } }[];
    t.equal(Boolean(pdb), replicas > 1, 'a PodDisruptionBudget exactly with 2+ replicas');
    if (replicas > 1) t.equal(config.tokenCache.type, 'redis', 'replicas share Redis');
    for (const [k, v] of Object.entries(pdb?.spec.selector.matchLabels ?? {}))
      t.equal(pod.metadata.labels[k], v, `PDB selector ${k}`);

    // ServiceMonitor: the Service's metrics port, on the config's metrics path.
    const [monitor] = of('ServiceMonitor') as unknown as {
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
    }[];
    t.equal(
      Boolean(monitor),
      Boolean((values.serviceMonitor as Json | undefined)?.enabled),
      'ServiceMonitor',
    );
    if (monitor) {
      for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels))
        t.equal(service?.metadata.labels[k], v, `ServiceMonitor selects the Service (${k})`);
      t.equal(monitor.spec.endpoints[0]?.port, 'metrics');
      t.ok(
        service?.spec.ports.some((p) => p.name === 'metrics'),
        'a Service port named metrics',
      );
      t.equal(monitor.spec.endpoints[0]?.path, config.metrics.path);
    }

    // Workload identity: the annotated ServiceAccount and the projected token instead of a secret.
    if (config.identity.clientAssertionFile) {
      const [sa] = of('ServiceAccount') as unknown as {
        metadata: { name: string; annotations: Record<string, string> };
      }[];
      t.equal(pod.spec.serviceAccountName, sa?.metadata.name, 'the pod runs as the ServiceAccount');
      t.equal(sa?.metadata.annotations['azure.workload.identity/client-id'], config.identity.clientId);
      t.equal(pod.metadata.labels['azure.workload.identity/use'], 'true');
      t.notOk(config.identity.clientSecret, 'no client secret');
    } else {
      t.ok(config.identity.clientSecret, 'the client secret from the Secret');
    }

    // NOTES.txt names what the operator must still do.
    if (secrets.length === 0) {
      const secretName = pod.spec.volumes.find((v) => v.secret)?.secret?.secretName;
      t.match(r.notes, `kubectl create secret generic ${secretName}`, 'NOTES: how to create the Secret');
      for (const f of files) t.match(r.notes, `--from-literal=${f.key}=`, `NOTES: key ${f.key}`);
    }
    t.match(r.notes, `${config.publicUrl}${config.identity.callbackPath}`, 'NOTES: the redirect URI');
  });
}

t.test('a changed config rolls the pods (checksum annotation)', async (t) => {
  const checksum = (v: Values) => pieces(render(v)).pod.metadata.annotations['checksum/config'];
  t.match(checksum({}), /^[0-9a-f]{64}$/);
  t.equal(checksum({}), checksum({}), 'stable');
  t.not(checksum({}), checksum({ config: { logging: { level: 'debug' } } }), 'changes with the config');
});

t.test('values the chart refuses, with the reason', async (t) => {
  t.throws(() => render({ replicaCount: 2 }), /replicaCount above 1 needs config.tokenCache.type redis/);
  t.throws(() => render({ config: { listen: { port: 80 } } }), /config.listen: set ports.http/);
  t.throws(() => render({ config: { metrics: { port: 1 } } }), /config.metrics/);
  t.throws(() => render({ app: { enabled: true } }), /app.image is required/);
  t.throws(
    () => render({ serviceMonitor: { enabled: true }, metrics: { enabled: false } }),
    /serviceMonitor.enabled needs metrics.enabled/,
  );
});

t.test('Chart.yaml: appVersion is package.json’s version', async (t) => {
  const chart = parse(read('deploy/helm/authward/Chart.yaml')) as Json;
  t.equal(chart.apiVersion, 'v2');
  t.equal(chart.appVersion, version);
  t.match(chart.version, /^\d+\.\d+\.\d+$/);
});

t.test(
  'the helm workflow lints every value set strictly and pushes the package on version tags',
  async (t) => {
    const [workflow] = yamlDocs('.github/workflows/helm.yml') as [Json];
    t.same((workflow.on as { push?: { tags?: string[] } }).push?.tags, ['v*.*.*'], 'runs on v<version> tags');
    const steps = (workflow.jobs as Record<string, { steps: Json[] }>).chart?.steps ?? [];
    const script = steps.map((s) => String(s.run ?? '')).join('\n');
    t.ok(
      steps.some((s) => String(s.uses).startsWith('azure/setup-helm@')),
      'installs helm',
    );
    t.match(script, /helm lint --strict "\$CHART"\n/, 'lints the defaults');
    t.match(script, /for values in "\$CHART"\/ci\/\*-values\.yaml/, 'and each ci value set');
    t.match(script, /helm lint --strict "\$CHART" --values "\$values"/);
    t.match(script, /helm template authward "\$CHART" --values "\$values"/);
    t.match(script, /helm package "\$CHART"/);
    t.match(script, /helm push .*oci:\/\/ghcr\.io\//, 'pushed as an OCI chart');
    t.equal((workflow.jobs as Record<string, { env: Json }>).chart?.env.CHART, 'deploy/helm/authward');
  },
);
