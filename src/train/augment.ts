/**
 * Differentiable augmentation of every image the discriminator sees (DiffAugment: Zhao, Liu,
 * Lin, Zhu, Han, "Differentiable Augmentation for Data-Efficient GAN Training", NeurIPS 2020).
 * With a few thousand training faces the discriminator otherwise learns the training set's
 * exact pixels and leads the generator from the first steps; augmenting reals and fakes alike
 * (and reals inside R1) keeps what D sees varied while the generator still learns the
 * un-augmented distribution, because every transform is applied to both sides and is
 * differentiable.
 *
 * The three transforms of the paper's "color,translation,cutout" policy, with its constants:
 * - color: brightness + U(-0.5, 0.5); saturation x U(0, 2) about the per-pixel channel mean;
 *   contrast x U(0.5, 1.5) about the per-image mean;
 * - translation: an integer shift of up to 1/8 of the side in each direction, zero fill;
 * - cutout: a zero square of half the side, centred anywhere (clipped at the border).
 * Translation is a product with per-image 0/1 shift matrices, so its gradient (and R1's
 * gradient of a gradient) uses only matMul, which every backend differentiates twice.
 *
 * Draws are a pure function of a seed string, so a resumed run augments exactly as before.
 */
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';

export const AUGMENT_TRANSFORMS = ['color', 'translation', 'cutout'] as const;
export type AugmentTransform = (typeof AUGMENT_TRANSFORMS)[number];

/** Parses "color,translation,cutout" (any subset) or "none" into a list of transforms. */
export function parseAugmentPolicy(text: string): AugmentTransform[] {
  const t = text.trim();
  if (t === '' || t === 'none') return [];
  const parts = t.split(',').map((s) => s.trim());
  for (const p of parts) {
    if (!(AUGMENT_TRANSFORMS as readonly string[]).includes(p)) {
      throw new Error(`augment policy "${text}": "${p}" is not one of ${AUGMENT_TRANSFORMS.join(', ')} (or "none")`);
    }
  }
  return [...new Set(parts)] as AugmentTransform[];
}

/** Random parameters of one augmentation of a batch. */
export interface AugmentDraw {
  readonly batch: number;
  readonly size: number;
  readonly brightness?: Float32Array;
  readonly saturation?: Float32Array;
  readonly contrast?: Float32Array;
  /** Integer shifts along y (rows) and x (columns). */
  readonly shiftY?: Int32Array;
  readonly shiftX?: Int32Array;
  /** Centres of the cutout squares. */
  readonly cutY?: Int32Array;
  readonly cutX?: Int32Array;
}

/** Draws the parameters for `batch` images of side `size`; the paper's ranges (see above). */
export function drawAugment(seed: string, batch: number, size: number, policy: readonly AugmentTransform[]): AugmentDraw {
  const rng = seedrandom(seed);
  const uniform = (lo: number, hi: number) => Float32Array.from({ length: batch }, () => lo + (hi - lo) * rng());
  // Integer in [lo, hi), as torch.randint.
  const int = (lo: number, hi: number) => Int32Array.from({ length: batch }, () => lo + Math.floor(rng() * (hi - lo)));
  let d: AugmentDraw = { batch, size };
  if (policy.includes('color')) {
    d = { ...d, brightness: uniform(-0.5, 0.5), saturation: uniform(0, 2), contrast: uniform(0.5, 1.5) };
  }
  if (policy.includes('translation')) {
    const s = Math.floor(size * 0.125 + 0.5);
    d = { ...d, shiftY: int(-s, s + 1), shiftX: int(-s, s + 1) };
  }
  if (policy.includes('cutout')) {
    const c = Math.floor(size * 0.5 + 0.5);
    d = { ...d, cutY: int(0, size + (1 - (c % 2))), cutX: int(0, size + (1 - (c % 2))) };
  }
  return d;
}

/** Per-image shift matrices S (batch x n x n) with (S x)[i] = x[i + shift] inside the image, else 0. */
export function shiftMatrices(shifts: Int32Array, n: number): tf.Tensor3D {
  const m = new Float32Array(shifts.length * n * n);
  shifts.forEach((t, b) => {
    for (let i = 0; i < n; i++) {
      const j = i + t;
      if (j >= 0 && j < n) m[b * n * n + i * n + j] = 1;
    }
  });
  return tf.tensor3d(m, [shifts.length, n, n]);
}

/** The cutout masks (batch x size x size x 1): 0 inside each square, 1 elsewhere. */
export function cutoutMask(cutY: Int32Array, cutX: Int32Array, size: number): tf.Tensor4D {
  const c = Math.floor(size * 0.5 + 0.5);
  const half = Math.floor(c / 2);
  const m = new Float32Array(cutY.length * size * size).fill(1);
  cutY.forEach((cy, b) => {
    for (let i = 0; i < c; i++) {
      const y = Math.min(Math.max(cy - half + i, 0), size - 1);
      for (let k = 0; k < c; k++) {
        const x = Math.min(Math.max(cutX[b] - half + k, 0), size - 1);
        m[(b * size + y) * size + x] = 0;
      }
    }
  });
  return tf.tensor4d(m, [cutY.length, size, size, 1]);
}

/** Applies a draw to NHWC images in [-1, 1]; differentiable (twice) with respect to `x`. */
export function applyAugment(x: tf.Tensor4D, d: AugmentDraw): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  if (B !== d.batch || H !== d.size || W !== d.size) {
    throw new Error(`augment: images of shape [${x.shape}] do not match a draw for ${d.batch} images of ${d.size}x${d.size}`);
  }
  return tf.tidy(() => {
    let y: tf.Tensor4D = x;
    const perImage = (v: Float32Array) => tf.tensor4d(v, [B, 1, 1, 1]);
    if (d.brightness) y = tf.add(y, perImage(d.brightness));
    if (d.saturation) {
      const mean = tf.mean(y, 3, true);
      y = tf.add(tf.mul(tf.sub(y, mean), perImage(d.saturation!)), mean);
    }
    if (d.contrast) {
      const mean = tf.mean(y, [1, 2, 3], true);
      y = tf.add(tf.mul(tf.sub(y, mean), perImage(d.contrast!)), mean);
    }
    if (d.shiftY && d.shiftX) {
      // Rows: S_y [B,H,H] x [B,H,W*C]; columns: the same on the transposed image.
      const rows = tf.reshape(tf.matMul(shiftMatrices(d.shiftY, H), tf.reshape(y, [B, H, W * C])), [B, H, W, C]);
      const t = tf.reshape(tf.transpose(rows, [0, 2, 1, 3]), [B, W, H * C]);
      y = tf.transpose(tf.reshape(tf.matMul(shiftMatrices(d.shiftX, W), t), [B, W, H, C]), [0, 2, 1, 3]);
    }
    if (d.cutY && d.cutX) y = tf.mul(y, cutoutMask(d.cutY, d.cutX, H));
    return y;
  });
}
