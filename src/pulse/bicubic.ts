/**
 * PULSE's BicubicDownSample: Keys cubic kernel (a = -0.5) with 4 x factor taps,
 * normalised, applied separably with stride `factor` after reflect padding.
 * This exact operator defines "downscales correctly", so it must match the official one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { isPowerOfTwo } from '../util/power-of-two.js';

export function keysCubic(x: number, a = -0.5): number {
  const t = Math.abs(x);
  if (t <= 1) return (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1;
  if (t < 2) return a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a;
  return 0;
}

/** The 1-D taps for a factor: size 4*factor, centred between samples, summing to 1. */
export function bicubicTaps(factor: number): Float32Array {
  const size = 4 * factor;
  const raw = new Float32Array(size);
  for (let i = 0; i < size; i++) raw[i] = Math.fround(keysCubic((i - Math.floor(size / 2) + 0.5) / factor));
  let sum = 0;
  for (const v of raw) sum = Math.fround(sum + v);
  return raw.map((v) => Math.fround(v / sum));
}

export function checkFactor(factor: number): void {
  if (!isPowerOfTwo(factor)) {
    throw new Error(`downsampling factor ${factor} is not a power of two (1, 2, 4, 8, ..., 64)`);
  }
}

/**
 * Reflect padding (edge not repeated) along one axis, built from slice/reverse/concat.
 * tf.mirrorPad would do, but its registered gradient only slices the centre and drops
 * what flowed into the reflected border, which breaks PULSE's gradient near the edges.
 */
export function reflectPad(x: tf.Tensor4D, axis: 1 | 2, before: number, after: number): tf.Tensor4D {
  const n = x.shape[axis];
  if (before >= n || after >= n) {
    throw new Error(`reflect padding of ${before}/${after} needs a side longer than that; got ${n} (image too small for this factor)`);
  }
  return tf.tidy(() => {
    const take = (start: number, size: number) => {
      const begin = [0, 0, 0, 0];
      const sizes = [...x.shape];
      begin[axis] = start;
      sizes[axis] = size;
      return tf.slice(x, begin, sizes);
    };
    const parts: tf.Tensor4D[] = [];
    if (before > 0) parts.push(tf.reverse(take(1, before), axis));
    parts.push(x);
    if (after > 0) parts.push(tf.reverse(take(n - 1 - after, after), axis));
    return tf.concat(parts, axis);
  });
}

/**
 * The filter along one axis as a matrix: row i holds the taps at columns i*f .. i*f + 4f - 1 of
 * the reflect-padded axis (length n*f + 3f), i.e. the stride-f 'valid' convolution. [1, n, n*f + 3f].
 */
export function bandMatrix(taps: Float32Array, outLength: number, factor: number): tf.Tensor3D {
  const cols = outLength * factor + 3 * factor;
  const m = new Float32Array(outLength * cols);
  for (let i = 0; i < outLength; i++) m.set(taps, i * cols + i * factor);
  return tf.tensor3d(m, [1, outLength, cols]);
}

/**
 * A reusable downsampler; holds its band matrices (one pair per image size it has seen).
 *
 * The official operator is a reflect pad and a stride-f convolution along each axis. Here each
 * convolution is a matrix product with the band matrix: the same products (plus exact zeros),
 * summed in another order, within 5e-7 of the convolution. TensorFlow's single-channel strided
 * Conv2D and above all its input gradient are slow: at 1024 px, 64x, forward and backward took
 * 244 ms as convolutions and 20 ms as matrix products (docs/performance.md).
 */
export class BicubicDownsampler {
  readonly factor: number;
  private readonly taps: Float32Array;
  /** Per "h x w": the H band matrix [1, h/f, h+3f] and the transposed W one [1, w+3f, w/f]. */
  private readonly bands = new Map<string, { h: tf.Tensor3D; wT: tf.Tensor3D }>();

  constructor(factor: number) {
    checkFactor(factor);
    this.factor = factor;
    this.taps = bicubicTaps(factor);
  }

  private bandsFor(h: number, w: number): { h: tf.Tensor3D; wT: tf.Tensor3D } {
    const key = `${h}x${w}`;
    let b = this.bands.get(key);
    if (!b) {
      const f = this.factor;
      const bandW = bandMatrix(this.taps, w / f, f);
      b = { h: tf.keep(bandMatrix(this.taps, h / f, f)), wT: tf.keep(tf.transpose(bandW, [0, 2, 1])) };
      bandW.dispose();
      this.bands.set(key, b);
    }
    return b;
  }

  /**
   * x [B, H, W, C] (NHWC) -> [B, H/f, W/f, C]. Channels are folded into the batch, so each
   * colour plane is a matrix the band matrices multiply from the left (H) and the right (W).
   */
  apply(x: tf.Tensor4D): tf.Tensor4D {
    const f = this.factor;
    const [b, h, w, c] = x.shape;
    if (h % f !== 0 || w % f !== 0) {
      throw new Error(`image of ${w}x${h} cannot be downsampled by ${f}: both sides must be multiples of ${f}`);
    }
    const pad = 4 * f - f; // filter minus stride
    const before = Math.floor(pad / 2);
    const after = pad - before;
    const planes = b * c;
    return tf.tidy(() => {
      const band = this.bandsFor(h, w);
      const x4 = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [planes, h, w, 1]) as tf.Tensor4D;
      const padH = tf.reshape(reflectPad(x4, 1, before, after), [planes, h + pad, w]);
      const rows = tf.reshape(tf.matMul(band.h, padH), [planes, h / f, w, 1]) as tf.Tensor4D;
      const padW = tf.reshape(reflectPad(rows, 2, before, after), [planes, h / f, w + pad]);
      const out = tf.matMul(padW, band.wT);
      return tf.transpose(tf.reshape(out, [b, c, h / f, w / f]), [0, 2, 3, 1]) as tf.Tensor4D;
    });
  }

  dispose(): void {
    for (const b of this.bands.values()) tf.dispose([b.h, b.wT]);
    this.bands.clear();
  }
}
