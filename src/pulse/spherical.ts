/**
 * PULSE's spherical projection: after each optimiser step every row (all axes after the
 * first two, in PyTorch's NCHW/NLC layout) is rescaled to the radius it started with, so
 * the search stays on the sphere where a Gaussian's mass lies.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Axes that form one "row": for a latent [B, L, 512] the last axis; for a noise map held
 * NHWC as [B, H, W, 1] (NCHW [B, 1, H, W] in PyTorch) the spatial axes.
 */
export function rowAxes(t: tf.Tensor): number[] {
  if (t.rank === 3) return [2];
  if (t.rank === 4) return [1, 2, 3];
  throw new Error(`spherical projection expects rank 3 (latent) or 4 (noise), got shape [${t.shape.join(', ')}]`);
}

export function rowNorm(t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.sqrt(tf.add(tf.sum(tf.square(t), rowAxes(t), true), 1e-9)));
}

export function projectToSphere(t: tf.Tensor, radius: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.div(t, rowNorm(t)), radius));
}
