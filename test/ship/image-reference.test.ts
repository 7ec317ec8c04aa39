// One image reference: the workflow publishes ghcr.io/<owner>/authward multi-arch on v* tags, and the
// Kubernetes manifests and the compose file run that image at package.json's version.
import t from 'tap';
import { type Json, read, yamlDocs } from './files.js';

const version = (JSON.parse(read('package.json')) as { version: string }).version;
const IMAGE = `ghcr.io/authward/authward:${version}`;
const [workflow] = yamlDocs('.github/workflows/image.yml') as [Json];

t.test('the workflow builds and pushes a multi-arch image on version tags', async (t) => {
  const on = workflow.on as { push?: { tags?: string[] } };
  t.same(on.push?.tags, ['v*.*.*'], 'runs on v<version> tags');
  const steps = (workflow.jobs as Record<string, { steps: Json[] }>).image?.steps ?? [];
  const uses = (name: string) => steps.find((s) => String(s.uses).startsWith(`${name}@`));
  const build = uses('docker/build-push-action')?.with as Json | undefined;
  t.ok(build, 'docker/build-push-action');
  t.equal(build?.target, 'runtime', 'the production stage');
  t.same(String(build?.platforms).split(','), ['linux/amd64', 'linux/arm64']);
  t.equal((uses('docker/login-action')?.with as Json | undefined)?.registry, 'ghcr.io');
  const meta = uses('docker/metadata-action')?.with as Json | undefined;
  t.match(meta?.images, /^ghcr\.io\/\$\{\{ github\.repository_owner \}\}\/authward$/);
  t.match(String(meta?.tags), /type=semver,pattern=\{\{version\}\}/, 'tagged with the version');
  t.equal((workflow.permissions as Json).packages, 'write');
});

t.test('the manifests and the compose file name that image', async (t) => {
  const deployment = yamlDocs('deploy/kubernetes/deployment.yaml')[0] as {
    spec: { template: { spec: { containers: { name: string; image: string }[] } } };
  };
  const container = deployment.spec.template.spec.containers.find((c) => c.name === 'authward');
  t.equal(container?.image, IMAGE, 'deploy/kubernetes/deployment.yaml');
  t.match(read('deploy/kubernetes/deployment.yaml'), /@sha256:/, 'with a note on pinning a digest');
  const compose = yamlDocs('docker-compose.yml')[0] as { services: Record<string, { image?: string }> };
  t.equal(compose.services.authward?.image, `\${AUTHWARD_IMAGE:-${IMAGE}}`, 'docker-compose.yml');
});
