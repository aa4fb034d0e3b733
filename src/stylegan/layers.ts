/**
 * The layers of StyleGAN v1's synthesis network as small functions over NHWC tensors.
 * Weights arrive already scaled (equalised learning rate is applied once, at load).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * InstanceNorm2d without affine parameters (PyTorch default eps 1e-5, biased variance).
 * Differentiated through the moments: the closed-form backward was tried and tracks the
 * recorded official runs less closely (the search is sensitive to rounding order).
 */
export function instanceNorm(x: tf.Tensor4D, eps = 1e-5): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [1, 2], true);
    return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))) as tf.Tensor4D;
  });
}

/** PixelNorm over the feature axis: x / sqrt(mean(x^2) + eps). */
export function pixelNorm(x: tf.Tensor2D, eps = 1e-8): tf.Tensor2D {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), eps))) as tf.Tensor2D);
}

/**
 * Nearest-neighbour 2x upscale, written with reshape/tile (rank <= 4, whose gradient
 * tfjs implements on every backend).
 */
export function upscale2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    const cols = tf.tile(tf.reshape(x, [b * h, w, 1, c]), [1, 1, 2, 1]); // [bh, w, 2, c]
    const rows = tf.tile(tf.reshape(cols, [b * h, 1, 2 * w, c]), [1, 2, 1, 1]); // [bh, 2, 2w, c]
    return tf.reshape(rows, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
  });
}

export interface EpilogueWeights {
  /** Per-channel noise strength, shape [C]. */
  readonly noiseWeight: tf.Tensor1D;
  /** Style affine, pre-transposed and scaled: [dlatent, 2C]. */
  readonly styleWeight: tf.Tensor2D;
  /** Style bias [2C]. */
  readonly styleBias: tf.Tensor1D;
}

/**
 * Sees the input of each LeakyReLU (layer index, NHWC), e.g. to find values on the kink.
 * Called inside a tidy: copy what you keep.
 */
export type PreActivationProbe = (layer: number, preActivation: tf.Tensor4D) => void;

/**
 * LayerEpilogue: add per-pixel noise, LeakyReLU(0.2), instance norm, then the style
 * modulation x * (1 + scale) + shift with (scale, shift) = A(w).
 */
export function epilogue(
  x: tf.Tensor4D,
  dlatent: tf.Tensor2D,
  noise: tf.Tensor4D | null,
  weights: EpilogueWeights,
  probe?: { readonly layer: number; readonly see: PreActivationProbe },
): tf.Tensor4D {
  return tf.tidy(() => {
    const channels = x.shape[3];
    let y: tf.Tensor4D = x;
    if (noise) y = tf.add(y, tf.mul(noise, weights.noiseWeight));
    probe?.see(probe.layer, y);
    y = tf.leakyRelu(y, 0.2);
    y = instanceNorm(y);
    const style = tf.add(tf.matMul(dlatent, weights.styleWeight), weights.styleBias);
    const batch = x.shape[0];
    const scale = tf.reshape(tf.slice(style, [0, 0], [batch, channels]), [batch, 1, 1, channels]);
    const shift = tf.reshape(tf.slice(style, [0, channels], [batch, channels]), [batch, 1, 1, channels]);
    return tf.add(tf.mul(y, tf.add(scale, 1)), shift) as tf.Tensor4D;
  });
}
