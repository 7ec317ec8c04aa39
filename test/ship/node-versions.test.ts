// One supported Node.js range: package.json's engines, met by every locked package (so `npm ci` prints no
// EBADENGINE warning on a supported version), by the image's Node and by the Node running these tests,
// and quoted verbatim by the README and docs/deployment.md.
import semver from 'semver';
import t from 'tap';
import { read } from './files.js';

const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
const lock = JSON.parse(read('package-lock.json')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
};
const supported = pkg.engines.node;

t.ok(semver.validRange(supported), `engines.node is a range: ${supported}`);

t.test('every locked package accepts every supported Node.js version', async (t) => {
  const conflicts = Object.entries(lock.packages).flatMap(([path, entry]) => {
    const wants = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    return path && wants && !semver.subset(supported, wants) ? [`${path}@${entry.version}: ${wants}`] : [];
  });
  t.same(conflicts, [], `npm ci would warn EBADENGINE on part of ${supported}`);
});

t.test('the image and the test run use supported versions', async (t) => {
  const image = /^ARG NODE_IMAGE=node:(\d+)/m.exec(read('Dockerfile'))?.[1];
  t.ok(image && semver.satisfies(`${image}.99.0`, supported), `the image's Node ${image} is supported`);
  t.ok(semver.satisfies(process.version, supported), `the Node running the tests (${process.version})`);
});

t.test('the README and the deployment guide state the same range', async (t) => {
  for (const file of ['README.md', 'docs/deployment.md']) {
    t.ok(read(file).includes(`\`${supported}\``), `${file} quotes \`${supported}\``);
  }
});
