/**
 * One short, untimed search before timed ones. The first search in a process also sets up the
 * backend's kernels and buffers and runs about 1.5x slower than the next; the benchmark and
 * experiment runners call this first so the first recorded run's time is like the others.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { PulseGenerator } from './generator-interface.js';
import type { PulseOptions } from './options.js';
import { runPulse } from './run.js';

/** Runs `steps` steps of PULSE with `options` (same batch and loss) on a flat grey target of side `lowSide`; the result is discarded. */
export async function warmUpPulse(model: PulseGenerator, lowSide: number, options: PulseOptions, steps = 2): Promise<void> {
  const target = tf.fill([1, lowSide, lowSide, 3], 0.5) as tf.Tensor4D;
  try {
    await runPulse(model, target, { ...options, seed: 0, steps: Math.min(steps, options.steps) });
  } finally {
    target.dispose();
  }
}
