import type * as tf from '@tensorflow/tfjs-core';

/** Largest |a - b| over the largest |b|: an error relative to the reference's size. */
export async function relativeError(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let err = 0;
  let size = 0;
  for (let i = 0; i < y.length; i++) {
    err = Math.max(err, Math.abs(x[i] - y[i]));
    size = Math.max(size, Math.abs(y[i]));
  }
  return err / size;
}
