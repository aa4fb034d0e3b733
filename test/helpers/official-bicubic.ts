/**
 * A plain float64 re-implementation of the official PULSE BicubicDownSample (reflect pad +
 * strided 1-D convolutions with the Keys a = -0.5 taps): the reference the project's
 * BicubicDownsampler and the bench data's LR files are checked against.
 */
import { keysCubic } from '../../src/pulse/bicubic.js';

/** The official taps in float64: keys((i - floor(size/2) + 0.5) / factor), normalised. */
export function officialTaps(factor: number): number[] {
  const size = 4 * factor;
  const raw = Array.from({ length: size }, (_, i) => keysCubic((i - Math.floor(size / 2) + 0.5) / factor));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((v) => v / sum);
}

/** numpy/torch 'reflect' index (edge not repeated). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/**
 * The official BicubicDownSample.forward in float64 on NHWC data: reflect pad H by
 * (3f//2, 3f - 3f//2), conv with the taps along H, stride f; the same along W.
 */
export function officialDownsample(x: Float64Array | Float32Array, shape: readonly number[], factor: number): Float64Array {
  const [b, h, w, c] = shape;
  const taps = officialTaps(factor);
  const pad = 3 * factor;
  const before = Math.floor(pad / 2);
  const oh = h / factor;
  const ow = w / factor;
  // Along H.
  const rows = new Float64Array(b * oh * w * c);
  for (let n = 0; n < b; n++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let k = 0; k < taps.length; k++) {
            const src = reflectIndex(y * factor + k - before, h);
            s += taps[k] * x[((n * h + src) * w + xx) * c + ch];
          }
          rows[((n * oh + y) * w + xx) * c + ch] = s;
        }
  // Along W.
  const out = new Float64Array(b * oh * ow * c);
  for (let n = 0; n < b; n++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++)
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let k = 0; k < taps.length; k++) {
            const src = reflectIndex(xx * factor + k - before, w);
            s += taps[k] * rows[((n * oh + y) * w + src) * c + ch];
          }
          out[((n * oh + y) * ow + xx) * c + ch] = s;
        }
  return out;
}

