/**
 * StyleGAN's non-saturating logistic GAN loss and the R1 gradient penalty on reals.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Generator: mean softplus(-D(G(z))). */
export function generatorLoss(fakeLogits: tf.Tensor1D): tf.Scalar {
  return tf.mean(tf.softplus(tf.neg(fakeLogits)));
}

/** Discriminator: mean softplus(D(fake)) + mean softplus(-D(real)). */
export function discriminatorLoss(fakeLogits: tf.Tensor1D, realLogits: tf.Tensor1D): tf.Scalar {
  return tf.add(tf.mean(tf.softplus(fakeLogits)), tf.mean(tf.softplus(tf.neg(realLogits))));
}

/**
 * R1: (gamma / 2) * E[ |grad_x D(x)|^2 ] on real images, times `interval` for lazy
 * regularisation. A gradient of a gradient: call inside tf.variableGrads.
 */
export function r1Penalty(d: (x: tf.Tensor4D) => tf.Tensor1D, reals: tf.Tensor4D, gamma: number, interval: number): tf.Scalar {
  const grad = tf.grad((x: tf.Tensor) => tf.sum(d(x as tf.Tensor4D)))(reals);
  const sq = tf.mean(tf.sum(tf.square(grad), [1, 2, 3]));
  return tf.mul(sq, (gamma / 2) * interval);
}
