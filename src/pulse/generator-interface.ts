/**
 * What PULSE needs of a generator: the synthesis network and the Gaussian fit of the
 * mapping network's output (after LeakyReLU(5)), which maps the search's Gaussian latent
 * into W+ via w = LeakyReLU_0.2(z * std + mean).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Synthesis } from '../stylegan/synthesis.js';

export interface GaussianFit {
  readonly mean: Float32Array;
  readonly std: Float32Array;
}

export interface PulseGenerator {
  readonly synthesis: Synthesis;
  readonly gaussianFit: GaussianFit;
}

/** z [B, L, 512] -> dlatents [B, L, 512]. */
export function toDlatents(latent: tf.Tensor3D, mean: tf.Tensor1D, std: tf.Tensor1D): tf.Tensor3D {
  return tf.tidy(() => tf.leakyRelu(tf.add(tf.mul(latent, std), mean), 0.2) as tf.Tensor3D);
}
