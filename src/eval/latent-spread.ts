/**
 * How the mapping network spreads its latents: statistics of a set of w = mapping(z) vectors.
 * A random deep leaky-ReLU MLP pulls its outputs together as depth grows (the vectors share a
 * growing common part), so a mapping network that has barely trained (StyleGAN's mapping learns
 * at 0.01 x G's rate, sized for millions of images) hands the synthesis network latents that
 * vary along fewer directions than z does. docs/training.md, Session 19.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface LatentSpread {
  readonly count: number;
  readonly dims: number;
  /** Length of the mean vector. */
  readonly meanNorm: number;
  /** sqrt(mean over vectors of |w - mean|^2): how far the vectors lie from their mean. */
  readonly rmsDistanceToMean: number;
  /** Mean cosine between distinct raw vectors (0 for a centred isotropic cloud, 1 for one direction). */
  readonly meanCosine: number;
  /**
   * Participation ratio of the covariance C, trace(C)^2 / sum(C_ij^2) = (sum l)^2 / sum l^2 over
   * its eigenvalues l: about d for an isotropic cloud in d dimensions, k for k equal directions.
   */
  readonly participationRatio: number;
}

/** Statistics of `count` vectors of `dims` values, row-major in `values`. */
export function latentSpread(values: Float32Array, count: number, dims: number): LatentSpread {
  if (!Number.isInteger(count) || count < 2) throw new Error(`latent spread needs at least 2 vectors, got ${count}`);
  if (!Number.isInteger(dims) || dims < 1 || values.length !== count * dims) {
    throw new Error(`latent spread: ${values.length} values are not ${count} vectors of ${dims}`);
  }
  const stats = tf.tidy(() => {
    const w = tf.tensor2d(values, [count, dims]);
    const mean = tf.mean(w, 0);
    const centred = tf.sub(w, mean);
    const cov = tf.div(tf.matMul(centred, centred, true, false), count - 1);
    const sumSquares = tf.sum(tf.square(centred));
    const trace = tf.div(sumSquares, count - 1);
    const unit = tf.div(w, tf.maximum(tf.norm(w, 'euclidean', 1, true), 1e-12));
    // Mean over distinct pairs: (|sum of unit vectors|^2 - count) / (count (count - 1)).
    const sumUnit = tf.sum(unit, 0);
    const cosine = tf.div(tf.sub(tf.sum(tf.square(sumUnit)), count), count * (count - 1));
    return tf.stack([
      tf.norm(mean),
      tf.sqrt(tf.div(sumSquares, count)),
      cosine,
      tf.div(tf.square(trace), tf.sum(tf.square(cov))),
    ]);
  });
  const [meanNorm, rmsDistanceToMean, meanCosine, participationRatio] = stats.dataSync();
  stats.dispose();
  return { count, dims, meanNorm, rmsDistanceToMean, meanCosine, participationRatio };
}

/**
 * Relative change between two versions of the same tensors, per tensor:
 * RMS(after - before) / RMS(before). Tensors present in only one are left out.
 */
export function relativeChange(before: ReadonlyMap<string, { data: Float32Array }>, after: ReadonlyMap<string, { data: Float32Array }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, a] of after) {
    const b = before.get(name);
    if (!b) continue;
    if (b.data.length !== a.data.length) throw new Error(`tensor ${name} has ${b.data.length} values before and ${a.data.length} after`);
    let diff = 0;
    let base = 0;
    for (let i = 0; i < a.data.length; i++) {
      diff += (a.data[i] - b.data[i]) ** 2;
      base += b.data[i] ** 2;
    }
    out.set(name, base > 0 ? Math.sqrt(diff / base) : Math.sqrt(diff / a.data.length));
  }
  return out;
}
