/**
 * The Gaussian fit of the mapping network (`pulse fit-gaussian`): per-dimension mean and
 * unbiased std of LeakyReLU(slope 5)(mapping(z)), z ~ N(0, I). The leaky ReLU with slope
 * 5 inverts StyleGAN's slope-0.2 activation, making W close to Gaussian.
 *
 * Streamed: each batch's mean and squared deviations are merged on the host in float64
 * (Chan et al.), so a million samples need one batch of memory, not a million rows (the
 * official code allocates all of them at once and runs out of GPU memory).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Mapping } from '../stylegan/mapping.js';
import type { GaussianFit } from './generator-interface.js';
import { gaussian } from '../util/random.js';

export interface FitOptions {
  /** Number of z samples. Official: 1,000,000. */
  readonly samples: number;
  /** Samples per batch (memory bound). */
  readonly batchSize: number;
  /** Seed of the z draws. */
  readonly seed: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_FIT_OPTIONS: FitOptions = { samples: 1_000_000, batchSize: 10_000, seed: 0 };

/** Running mean / M2 over rows, merged batch by batch in float64. */
export class StreamingMoments {
  count = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  constructor(readonly dims: number) {
    this.mean = new Float64Array(dims);
    this.m2 = new Float64Array(dims);
  }

  /** Adds a batch summarised by its row count, mean and sum of squared deviations. */
  merge(n: number, batchMean: ArrayLike<number>, batchM2: ArrayLike<number>): void {
    const total = this.count + n;
    for (let d = 0; d < this.dims; d++) {
      const delta = batchMean[d] - this.mean[d];
      this.mean[d] += (delta * n) / total;
      this.m2[d] += batchM2[d] + (delta * delta * this.count * n) / total;
    }
    this.count = total;
  }

  result(): GaussianFit {
    if (this.count < 2) throw new Error('a Gaussian fit needs at least 2 samples');
    const std = new Float32Array(this.dims);
    for (let d = 0; d < this.dims; d++) std[d] = Math.sqrt(this.m2[d] / (this.count - 1));
    return { mean: Float32Array.from(this.mean), std };
  }
}

/** Mean and M2 of LeakyReLU(5)(mapping(z)) for one batch of z [n, 512]. */
async function batchMoments(mapping: Mapping, z: tf.Tensor2D): Promise<{ mean: Float32Array; m2: Float32Array }> {
  const [meanT, m2T] = tf.tidy(() => {
    const w = tf.leakyRelu(mapping.forward(z), 5);
    const mean = tf.mean(w, 0);
    const m2 = tf.sum(tf.square(tf.sub(w, mean)), 0);
    return [mean, m2];
  });
  const [mean, m2] = [(await meanT.data()) as Float32Array, (await m2T.data()) as Float32Array];
  tf.dispose([meanT, m2T]);
  return { mean, m2 };
}

/** Fits on given z rows (e.g. a recorded parity case). */
export async function fitGaussianOn(mapping: Mapping, z: Float32Array, rows: number, batchSize = 10_000): Promise<GaussianFit> {
  const dims = mapping.config.latentSize;
  const moments = new StreamingMoments(mapping.config.dlatentSize);
  for (let start = 0; start < rows; start += batchSize) {
    const n = Math.min(batchSize, rows - start);
    const zt = tf.tensor2d(z.subarray(start * dims, (start + n) * dims), [n, dims]);
    const { mean, m2 } = await batchMoments(mapping, zt);
    zt.dispose();
    moments.merge(n, mean, m2);
  }
  return moments.result();
}

/** Fits on `samples` seeded Gaussian draws, streamed in batches. */
export async function fitGaussian(mapping: Mapping, options: Partial<FitOptions> = {}): Promise<GaussianFit> {
  const o = { ...DEFAULT_FIT_OPTIONS, ...options };
  if (!Number.isInteger(o.samples) || o.samples < 2) throw new Error(`samples=${o.samples} must be an integer >= 2`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new Error(`batchSize=${o.batchSize} must be a positive integer`);
  const dims = mapping.config.latentSize;
  const moments = new StreamingMoments(mapping.config.dlatentSize);
  for (let start = 0, b = 0; start < o.samples; start += o.batchSize, b++) {
    const n = Math.min(o.batchSize, o.samples - start);
    const zt = tf.tensor2d(gaussian(`fit:${o.seed}:${b}`, n * dims), [n, dims]);
    const { mean, m2 } = await batchMoments(mapping, zt);
    zt.dispose();
    moments.merge(n, mean, m2);
    o.onProgress?.(start + n, o.samples);
  }
  return moments.result();
}
