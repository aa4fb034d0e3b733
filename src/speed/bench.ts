/**
 * Step speed (`pulse speed`, npm run bench): seconds per PULSE step on a random-weight generator
 * of a given size, for BENCHMARKS.md. A speed measurement reports numbers; it never fails on them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/select.js';
import { Synthesis } from '../stylegan/synthesis.js';
import { randomSynthesisStateDict } from '../stylegan/random-weights.js';
import { DEFAULT_SYNTHESIS_CONFIG, largestMapFloats } from '../stylegan/config.js';
import { runPulse } from '../pulse/run.js';
import { resolveOptions } from '../pulse/options.js';
import { gaussian } from '../util/random.js';
import { median } from '../util/stats.js';
import { buildReleasingLeftovers } from '../backend/host-memory.js';

export interface BenchResult {
  backend: string;
  res: number;
  fmap_base: number;
  factor: number;
  batch: number;
  steps: number;
  first_step_s: number;
  median_step_s: number;
  mean_step_s: number;
  peak_rss_mb: number;
  peak_tensor_mb: number;
  tensors_before: number;
  tensors_after: number;
  /** The glibc tunables the process started with (src/backend/malloc-env.ts), or "" for none. */
  glibc_tunables: string;
  /** MB of the TensorFlow library's clean pages handed back at start-up (src/backend/library-pages.ts); 0 when none were. */
  library_pages_released_mb: number;
  /** Where the native backend's tensors come from: bfc, malloc, or user (TF_CPU_ALLOCATOR_USE_BFC as set); "" off the native backend. */
  tensor_allocator: string;
}

export interface BenchOptions {
  /** Generator resolution (px). */
  readonly res: number;
  /** StyleGAN fmap_base (width rule). */
  readonly fmapBase: number;
  /** Downscaling factor of the target. */
  readonly factor: number;
  /** Solutions optimised together. */
  readonly batch: number;
  /** Steps to time (the first is reported apart: it sets up kernels). */
  readonly steps: number;
  /** Backend request (default: $PULSE_BACKEND or auto). */
  readonly backend?: string;
}

/** The backend, a random-weight generator of the asked size, a unit Gaussian fit and a noise target. */
export async function benchSetup(o: BenchOptions) {
  const cfg = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: o.res, fmapBase: o.fmapBase };
  const backend = await initBackend(o.backend, { stepSize: { solutionsPerStep: o.batch, largestMapBytes: 4 * largestMapFloats(cfg) } });
  // As loadModel builds a file's model (host-memory.ts).
  const synthesis = await buildReleasingLeftovers(() => Synthesis.fromStateDict(randomSynthesisStateDict(cfg, 1, 0.1), 'random weights', cfg));
  const low = o.res / o.factor;
  const fit = { mean: new Float32Array(cfg.dlatentSize), std: new Float32Array(cfg.dlatentSize).fill(1) };
  const target = tf.tidy(() => tf.clipByValue(tf.add(tf.tensor4d(gaussian('bench-target', low * low * 3), [1, low, low, 3]), 0.5), 0, 1) as tf.Tensor4D);
  return { backend, synthesis, fit, target };
}

export async function runBench(o: BenchOptions): Promise<BenchResult> {
  const { backend, synthesis, fit, target } = await benchSetup(o);
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  let last = 0;
  let peakRss = process.memoryUsage().rss;
  let peakTensor = tf.memory().numBytes;
  await runPulse({ synthesis, gaussianFit: fit }, target, resolveOptions({ seed: 1, steps: o.steps, duplicates: o.batch }), {
    onStep: (_s, elapsed) => {
      times.push(elapsed - last);
      last = elapsed;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      peakTensor = Math.max(peakTensor, tf.memory().numBytes);
      process.stderr.write(`step ${times.length}/${o.steps}: ${(times[times.length - 1]).toFixed(3)} s\n`);
    },
  });
  const tensorsAfter = tf.memory().numTensors;
  // The OS's high-water mark catches the peak inside a step, which sampling between steps misses.
  peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
  target.dispose();
  synthesis.dispose();
  const steady = times.length > 1 ? times.slice(1) : times;
  return {
    backend: backend.name,
    res: o.res,
    fmap_base: o.fmapBase,
    factor: o.factor,
    batch: o.batch,
    steps: o.steps,
    first_step_s: times[0],
    median_step_s: median(steady),
    mean_step_s: steady.reduce((a, b) => a + b, 0) / steady.length,
    peak_rss_mb: peakRss / 2 ** 20,
    peak_tensor_mb: peakTensor / 2 ** 20,
    tensors_before: tensorsBefore,
    tensors_after: tensorsAfter,
    glibc_tunables: process.env.GLIBC_TUNABLES ?? '',
    library_pages_released_mb: backend.libraryPages?.released ? Math.round(backend.libraryPages.residentMb) : 0,
    tensor_allocator: backend.tensorAllocator?.allocator ?? '',
  };
}

