// V8 heap flags sized from the container's memory limit: what the image starts node with (`authward heap-flags`).
//
// Node sizes V8's heap from the cgroup limit by itself (uv_get_constrained_memory), but for a browser's
// needs: old space a quarter of the limit, semi-spaces up to 16 MiB. For a sidecar whose memory is
// mostly its heap (the memory token cache: ~4 KiB a session) a quarter is too little: a 256 MiB
// container would stop at 64 MiB of heap, about 8,000 sessions, and collect ever more often before
// that. Here: old space 60 % of the limit, and the rest for what is not old space: young generation
// (3 semi-spaces, 1/64 of the limit each, 2 to 16 MiB), code, native memory and buffers (about
// 60 MiB at rest). Measured and argued in docs/deployment.md.

const MiB = 1024 * 1024;
/** Below this the flags cannot help: authward's own footprint is about 100 MiB (V8 decides, the limit kills). */
const SMALLEST = 96 * MiB;
/** From here V8's defaults are right (its old space tops out at 4 GiB anyway). */
const LARGEST = 4096 * MiB;

/**
 * Flags for `node` given the memory limit in bytes (process.constrainedMemory(); 0, undefined or
 * libuv's 2^64 when there is none), unless NODE_OPTIONS already sizes the heap: the operator wins.
 */
export function heapFlags(limitBytes: number | undefined, nodeOptions: string): string[] {
  if (/--max-old-space-size|--max-semi-space-size|--max-heap-size/.test(nodeOptions)) return [];
  if (!limitBytes || limitBytes < SMALLEST || limitBytes > LARGEST) return [];
  const limit = limitBytes / MiB;
  const semi = Math.min(16, Math.max(2, Math.floor(limit / 64)));
  return [`--max-old-space-size=${Math.floor(limit * 0.6)}`, `--max-semi-space-size=${semi}`];
}
