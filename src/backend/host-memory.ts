/**
 * Giving back what building a model used, once its tensors hold the weights.
 *
 * Two things stay resident after a build unless handed back (docs/performance.md):
 *  - the state dict: the weights as read into JavaScript arrays, garbage once copied into
 *    tensors, which V8 frees only in a full collection, and a PULSE search, whose JavaScript
 *    heap barely grows, may run none (at 64 px, fmap_base 8192, 88 MB stayed through every step);
 *  - the large temporaries through which a search's filters are derived (frozen-ops.ts): glibc's
 *    malloc serves them from its heap once its dynamic mmap threshold has risen, and keeps them,
 *    freed, in holes between the tensors that live on.
 * So the build runs with a low mmap threshold (blocks of 1 MiB and more come from mmap and go
 * back when freed); then the threshold is fixed where glibc's dynamic one would end (32 MiB, the
 * trim threshold twice that) so that a search's activations keep reusing heap blocks, as before;
 * then a full collection runs and malloc_trim returns what is free inside the heap.
 * The allocator calls need the small addon (release-memory-addon.ts); without it only the
 * collection runs. Thresholds set through GLIBC_TUNABLES are left as the user set them.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { releaseMemoryAddon } from './release-memory-addon.js';
import { MALLOC_MMAP_CEILING_BYTES } from './tensor-allocator.js';

/** While building: blocks of this size and up come from mmap and go back to the system when freed. */
const BUILD_MMAP_THRESHOLD = 1 << 20;
/** Afterwards: glibc's own ceiling for its dynamic threshold on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX). */
const SEARCH_MMAP_THRESHOLD = MALLOC_MMAP_CEILING_BYTES;

type Collect = () => void;
let collect: Collect | undefined;

/** V8's full collection: `gc` where node runs with --expose-gc, else the same function exposed now. */
function fullCollection(): Collect {
  const exposed = (globalThis as { gc?: Collect }).gc;
  if (typeof exposed === 'function') return exposed;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as Collect;
}

/**
 * Frees unreachable host memory now, and hands the C heap's free pages back. Two collections
 * a turn of the event loop apart, because a buffer's memory can be released after the
 * collection that found it dead (one collection left the 88 MB resident in one of four trials).
 */
async function releaseHostGarbage(): Promise<void> {
  collect ??= fullCollection();
  collect();
  await new Promise((done) => setImmediate(done));
  collect();
  const addon = releaseMemoryAddon();
  if (typeof addon !== 'string') addon.trimHeap();
}

/** Whether the user set glibc's thresholds themselves (then they are left alone). */
export function thresholdsChosenByUser(env: NodeJS.ProcessEnv): boolean {
  return /glibc\.malloc\.(mmap|trim)_threshold=/.test(env.GLIBC_TUNABLES ?? '') || env.MALLOC_MMAP_THRESHOLD_ !== undefined || env.MALLOC_TRIM_THRESHOLD_ !== undefined;
}

/**
 * Runs `build` (reading a model and building its networks) so that what it used and no longer
 * needs goes back to the system: see the file comment.
 */
export async function buildReleasingLeftovers<T>(build: () => T | Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const addon = releaseMemoryAddon();
  const tune = typeof addon !== 'string' && !thresholdsChosenByUser(env) && addon.setMallocThresholds(BUILD_MMAP_THRESHOLD, 2 * BUILD_MMAP_THRESHOLD);
  try {
    return await build();
  } finally {
    if (tune) addon.setMallocThresholds(SEARCH_MMAP_THRESHOLD, 2 * SEARCH_MMAP_THRESHOLD);
    await releaseHostGarbage();
  }
}
