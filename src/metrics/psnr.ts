/**
 * PSNR, as scikit-image's `peak_signal_noise_ratio(image_true, image_test, data_range)`:
 * `10 log10(data_range^2 / MSE)` with the MSE taken in float64 over every value (all pixels and
 * all channels alike).
 */
import type { Samples } from './color.js';

/**
 * Peak signal-to-noise ratio in dB between `a` and `b` (same length, any layout; values on the
 * 0..dataRange scale), over all values. Identical inputs give `Infinity` (as scikit-image does).
 * Reference: scikit-image 0.26 `peak_signal_noise_ratio(a, b, data_range=255)`.
 */
export function psnr(a: Samples, b: Samples, dataRange = 255): number {
  if (a.length !== b.length) throw new Error(`psnr: inputs differ in length (${a.length} vs ${b.length})`);
  if (a.length === 0) throw new Error('psnr: empty inputs');
  if (!(dataRange > 0)) throw new Error(`psnr: dataRange must be positive, got ${dataRange}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    sum += d * d;
  }
  const mse = sum / a.length;
  if (mse === 0) return Infinity;
  return 10 * Math.log10((dataRange * dataRange) / mse);
}
