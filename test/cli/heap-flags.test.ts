// The V8 heap flags the image starts node with, sized from the container's memory limit (docs/deployment.md).
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { heapFlags } from '../../src/heap.js';
import { repoPath } from '../helpers/repo-root.js';

const MiB = 1024 * 1024;

t.test('a limit sizes old space to 60 % of it and the semi-space to 1/64 (2..16 MiB)', async (t) => {
  t.same(heapFlags(256 * MiB, ''), ['--max-old-space-size=153', '--max-semi-space-size=4']);
  t.same(heapFlags(512 * MiB, ''), ['--max-old-space-size=307', '--max-semi-space-size=8']);
  t.same(heapFlags(1024 * MiB, ''), ['--max-old-space-size=614', '--max-semi-space-size=16']);
  t.same(heapFlags(2048 * MiB, ''), ['--max-old-space-size=1228', '--max-semi-space-size=16']);
  t.same(
    heapFlags(128 * MiB, ''),
    ['--max-old-space-size=76', '--max-semi-space-size=2'],
    'small: at least 2 MiB',
  );
});

t.test('no flags without a limit, past 4 GiB, or when the operator set them', async (t) => {
  t.same(heapFlags(undefined, ''), [], 'no cgroup limit: V8 sizes from the machine');
  t.same(heapFlags(0, ''), []);
  t.same(heapFlags(2 ** 64, ''), [], "libuv's 'unlimited'");
  t.same(heapFlags(8192 * MiB, ''), [], "past V8's own 4 GiB cap");
  t.same(heapFlags(256 * MiB, '--max-old-space-size=100'), [], 'NODE_OPTIONS wins');
  t.same(
    heapFlags(256 * MiB, '--enable-source-maps --max-semi-space-size=1'),
    [],
    'either flag set: none added',
  );
  t.same(heapFlags(64 * MiB, ''), [], 'below 96 MiB authward does not fit: V8 decides, the limit kills');
});

t.test('`authward heap-flags` prints them on one line (empty without a limit)', async (t) => {
  const out = execFileSync(process.execPath, [repoPath('dist/cli.js'), 'heap-flags'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const expected = heapFlags(process.constrainedMemory?.() || undefined, '').join(' ');
  t.equal(out, `${expected}\n`);
});
