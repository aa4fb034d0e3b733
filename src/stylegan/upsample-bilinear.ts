/**
 * 2x bilinear upsampling with half-pixel centres, built from slices and sums so that it is
 * differentiable on every backend: tfjs-node's ResizeBilinearGrad ignores `halfPixelCenters`
 * (it passes only align_corners to TensorFlow), so `tf.image.resizeBilinear`'s gradient would
 * be another function's. The skip outputs of the synthesis network (synthesis.ts) use it.
 *
 * Each output pixel is 3/4 of its own input pixel and 1/4 of the nearer neighbour (StyleGAN2's
 * [1, 3, 3, 1] upsampling filter); at the border the missing neighbour is the edge pixel itself
 * (tf.image.resizeBilinear's clamping), where StyleGAN2's upfirdn2d pads with zeros.
 */
import * as tf from '@tensorflow/tfjs-core';

/** [N, L, C] -> [N, 2L, C] along the middle axis. */
function upsampleAxis(x: tf.Tensor3D): tf.Tensor3D {
  const [n, length, c] = x.shape;
  const first = tf.slice(x, [0, 0, 0], [n, 1, c]);
  const last = tf.slice(x, [0, length - 1, 0], [n, 1, c]);
  const before = tf.concat([first, tf.slice(x, [0, 0, 0], [n, length - 1, c])], 1); // x[i - 1], clamped
  const after = tf.concat([tf.slice(x, [0, 1, 0], [n, length - 1, c]), last], 1); // x[i + 1], clamped
  const own = tf.mul(x, 0.75);
  const even = tf.add(own, tf.mul(before, 0.25));
  const odd = tf.add(own, tf.mul(after, 0.25));
  // [N, L, 2, C] -> [N, 2L, C]: output 2i is `even`, 2i + 1 is `odd`.
  return tf.reshape(tf.stack([even, odd], 2), [n, 2 * length, c]) as tf.Tensor3D;
}

/** [B, H, W, C] -> [B, 2H, 2W, C]; equals tf.image.resizeBilinear(x, [2H, 2W], false, true). */
export function upsampleBilinear2x(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const rows = upsampleAxis(tf.reshape(x, [b, h, w * c]) as tf.Tensor3D); // [B, 2H, W·C]
    const columns = upsampleAxis(tf.reshape(rows, [b * 2 * h, w, c]) as tf.Tensor3D); // [B·2H, 2W, C]
    return tf.reshape(columns, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}
