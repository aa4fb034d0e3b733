/**
 * A mode-seeking term (Mao, Lee, Tseng, Ma, Yang, "Mode Seeking Generative Adversarial Networks
 * for Diverse Image Synthesis", CVPR 2019): G is rewarded for images that differ as much as their
 * latents do. MSGAN measures the images' difference in pixels; here it is measured in a frozen
 * face network's features (face-features.ts, face-api's age and gender net), because this
 * project's generators already vary pixels with the latent (pose, light, background) but not the
 * person (docs/training.md, Session 16: two latents give the same person 82-98% of the time).
 *
 * The batch is split into two halves paired image by image; for each pair the mean absolute
 * feature difference is divided by the mean absolute difference of the latents z, and the term
 * is MSGAN's 1 / (ratio + 1e-5) over the batch's mean ratio, so that it flattens as images spread.
 */
import * as tf from '@tensorflow/tfjs-core';

/** MSGAN's epsilon in 1 / (ratio + eps). */
const EPS = 1e-5;

/**
 * features [B, F] of a batch's images and the latents z [B, Z] that drew them (B even) ->
 * the term (a scalar to minimise) and the mean ratio of feature to latent difference.
 */
export function modeSeekingTerm(features: tf.Tensor2D, z: tf.Tensor2D): { term: tf.Scalar; ratio: tf.Scalar } {
  const [B] = features.shape;
  if (B % 2 !== 0 || B < 2) throw new Error(`mode seeking pairs a batch's halves; the batch is ${B} images (needs an even number)`);
  if (z.shape[0] !== B) throw new Error(`mode seeking: ${B} images but ${z.shape[0]} latents`);
  return tf.tidy(() => {
    const h = B / 2;
    const half = (x: tf.Tensor2D, i: number) => tf.slice(x, [i * h, 0], [h, -1]);
    const df = tf.mean(tf.abs(tf.sub(half(features, 0), half(features, 1))), 1);
    const dz = tf.mean(tf.abs(tf.sub(half(z, 0), half(z, 1))), 1);
    const ratio = tf.mean(tf.div(df, dz)) as tf.Scalar;
    return { term: tf.div(1, tf.add(ratio, EPS)) as tf.Scalar, ratio };
  });
}
