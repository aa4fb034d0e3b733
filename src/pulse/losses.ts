/**
 * PULSE's loss terms, exactly as the official LossBuilder computes them: per-image means
 * clamped below at eps, then summed over the batch.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Per-image mean squared error [B] between two NHWC batches (unclamped). */
export function perImageMse(a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor1D {
  return tf.tidy(() => tf.mean(tf.squaredDifference(a, b), [1, 2, 3]) as tf.Tensor1D);
}

/** L2: sum over the batch of max(mse, eps). */
export function l2Loss(perImage: tf.Tensor1D, eps: number): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.clipByValue(perImage, eps, Number.MAX_VALUE)));
}

/** L1: 10 * sum over the batch of max(mean |a - b|, eps) (the official factor 10 included). */
export function l1Loss(a: tf.Tensor4D, b: tf.Tensor4D, eps: number): tf.Scalar {
  return tf.tidy(() => tf.mul(10, tf.sum(tf.clipByValue(tf.mean(tf.abs(tf.sub(a, b)), [1, 2, 3]), eps, Number.MAX_VALUE))));
}

/**
 * GEOCROSS: the mean squared geodesic (angle) distance between every pair of the L
 * style vectors of each image, times 512/8, summed over the batch. Angles come from
 * atan2(|x - y|, |x + y|), stable near 0 and pi; 1e-9 keeps the sqrt differentiable.
 */
export function geocross(dlatents: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const [b, l, d] = dlatents.shape;
    const x = tf.reshape(dlatents, [b, 1, l, d]);
    const y = tf.reshape(dlatents, [b, l, 1, d]);
    const a = tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(x, y)), -1), 1e-9));
    const c = tf.sqrt(tf.add(tf.sum(tf.square(tf.add(x, y)), -1), 1e-9));
    const angle = tf.mul(2, tf.atan2(a, c));
    return tf.sum(tf.div(tf.mean(tf.mul(tf.square(angle), d), [1, 2]), 8));
  });
}
