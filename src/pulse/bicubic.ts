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

/** A reusable downsampler; holds its filters. */
export class BicubicDownsampler {
  readonly factor: number;
  private readonly filterH: tf.Tensor4D;
  private readonly filterW: tf.Tensor4D;

  constructor(factor: number) {
    checkFactor(factor);
    this.factor = factor;
    const taps = bicubicTaps(factor);
    this.filterH = tf.tensor4d(taps, [taps.length, 1, 1, 1]);
    this.filterW = tf.tensor4d(taps, [1, taps.length, 1, 1]);
  }

  /**
   * x [B, H, W, C] (NHWC) -> [B, H/f, W/f, C]. Channels are folded into the batch so the
   * filter is an ordinary single-channel conv (its input gradient exists on every backend).
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
    return tf.tidy(() => {
      const planes = tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [b * c, h, w, 1]) as tf.Tensor4D;
      const padH = reflectPad(planes, 1, before, after);
      const rows = tf.conv2d(padH, this.filterH, [f, 1], 'valid');
      const padW = reflectPad(rows, 2, before, after);
      const out = tf.conv2d(padW, this.filterW, [1, f], 'valid');
      return tf.transpose(tf.reshape(out, [b, c, h / f, w / f]), [0, 2, 3, 1]) as tf.Tensor4D;
    });
  }

  dispose(): void {
    tf.dispose([this.filterH, this.filterW]);
  }
}
