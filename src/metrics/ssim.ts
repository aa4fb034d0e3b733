/**
 * SSIM (Wang, Bovik, Sheikh, Simoncelli 2004), as scikit-image 0.26's
 * `structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
 * data_range=255)`:
 *
 * - local statistics with `scipy.ndimage.gaussian_filter(sigma=1.5, truncate=3.5,
 *   mode='reflect')`: an 11-tap separable kernel (radius `int(3.5 * 1.5 + 0.5)` = 5,
 *   `exp(-x^2 / (2 sigma^2))` normalised to sum 1), applied along rows' axis 0 then axis 1,
 *   with half-sample symmetric borders (d c b a | a b c d | d c b a);
 * - population (co)variances (`use_sample_covariance=False`), C1 = (0.01 R)^2, C2 = (0.03 R)^2;
 * - the SSIM map averaged after cropping `(win_size - 1) / 2` = 5 pixels from every border;
 * - several channels: the mean of the per-channel SSIMs (`channel_axis=-1`).
 * All arithmetic is float64.
 */
import { rgbToY, type Samples } from './color.js';

export interface SsimOptions {
  /** Dynamic range of the values (default 255). */
  dataRange?: number;
  /** Gaussian sigma (default 1.5). */
  sigma?: number;
  /** Kernel radius in sigmas, as scipy's `truncate` (default 3.5). */
  truncate?: number;
  /** Stability constants (defaults 0.01 and 0.03). */
  k1?: number;
  k2?: number;
}

/** scipy.ndimage `_gaussian_kernel1d(sigma, 0, radius)`. */
export function gaussianKernel1d(sigma: number, radius: number): Float64Array {
  const k = new Float64Array(2 * radius + 1);
  const sigma2 = sigma * sigma;
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp((-0.5 / sigma2) * i * i);
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** scipy.ndimage 'reflect' (half-sample symmetric) index for any integer i, n >= 1. */
function reflectIndex(i: number, n: number): number {
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

/** Separable correlation of a width x height plane with a symmetric 1-D kernel, reflect borders. */
function gaussianFilter2d(src: Float64Array, width: number, height: number, kernel: Float64Array): Float64Array {
  const r = (kernel.length - 1) / 2;
  const tmp = new Float64Array(width * height);
  const out = new Float64Array(width * height);
  const rowIdx = new Int32Array(height + 2 * r);
  for (let i = 0; i < rowIdx.length; i++) rowIdx[i] = reflectIndex(i - r, height);
  const colIdx = new Int32Array(width + 2 * r);
  for (let i = 0; i < colIdx.length; i++) colIdx[i] = reflectIndex(i - r, width);
  // axis 0 (vertical): row vectors accumulated tap by tap (same summation order per pixel)
  for (let y = 0; y < height; y++) {
    const o = y * width;
    for (let k = 0; k < kernel.length; k++) {
      const w = kernel[k];
      const so = rowIdx[y + k] * width;
      for (let x = 0; x < width; x++) tmp[o + x] += w * src[so + x];
    }
  }
  // axis 1 (horizontal), through a padded copy of each row
  const line = new Float64Array(width + 2 * r);
  for (let y = 0; y < height; y++) {
    const o = y * width;
    for (let i = 0; i < line.length; i++) line[i] = tmp[o + colIdx[i]];
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = 0; k < kernel.length; k++) s += kernel[k] * line[x + k];
      out[o + x] = s;
    }
  }
  return out;
}

/** Mean SSIM of two single-channel float64 planes. */
function ssimPlane(x: Float64Array, y: Float64Array, width: number, height: number, o: Required<SsimOptions>): number {
  const radius = Math.trunc(o.truncate * o.sigma + 0.5);
  const winSize = 2 * radius + 1;
  const kernel = gaussianKernel1d(o.sigma, radius);
  const n = width * height;
  const xx = new Float64Array(n);
  const yy = new Float64Array(n);
  const xy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const ux = gaussianFilter2d(x, width, height, kernel);
  const uy = gaussianFilter2d(y, width, height, kernel);
  const uxx = gaussianFilter2d(xx, width, height, kernel);
  const uyy = gaussianFilter2d(yy, width, height, kernel);
  const uxy = gaussianFilter2d(xy, width, height, kernel);
  const c1 = (o.k1 * o.dataRange) ** 2;
  const c2 = (o.k2 * o.dataRange) ** 2;
  const pad = (winSize - 1) / 2;
  let sum = 0;
  let count = 0;
  for (let r = pad; r < height - pad; r++) {
    for (let c = pad; c < width - pad; c++) {
      const i = r * width + c;
      const mx = ux[i];
      const my = uy[i];
      const vx = uxx[i] - mx * mx;
      const vy = uyy[i] - my * my;
      const vxy = uxy[i] - mx * my;
      const a1 = 2 * mx * my + c1;
      const a2 = 2 * vxy + c2;
      const b1 = mx * mx + my * my + c1;
      const b2 = vx + vy + c2;
      sum += (a1 * a2) / (b1 * b2);
      count++;
    }
  }
  return sum / count;
}

/**
 * Mean structural similarity of two images `a` and `b`, interleaved HWC with `channels`
 * channels (bytes or float64 on the 0..dataRange scale). With several channels it is the mean
 * of the per-channel SSIMs. Both sides must be at least 11 pixels (the window) in each
 * dimension, as in scikit-image.
 * Reference: scikit-image 0.26 `structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=255, channel_axis=-1)`.
 */
export function ssim(a: Samples, b: Samples, width: number, height: number, channels: number, options: SsimOptions = {}): number {
  const o: Required<SsimOptions> = {
    dataRange: options.dataRange ?? 255,
    sigma: options.sigma ?? 1.5,
    truncate: options.truncate ?? 3.5,
    k1: options.k1 ?? 0.01,
    k2: options.k2 ?? 0.03,
  };
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`ssim: invalid size ${width}x${height}`);
  }
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`ssim: invalid channel count ${channels}`);
  const n = width * height;
  if (a.length !== n * channels || b.length !== n * channels) {
    throw new Error(`ssim: expected ${width}x${height}x${channels} = ${n * channels} values, got ${a.length} and ${b.length}`);
  }
  if (!(o.dataRange > 0)) throw new Error(`ssim: dataRange must be positive, got ${o.dataRange}`);
  const winSize = 2 * Math.trunc(o.truncate * o.sigma + 0.5) + 1;
  if (width < winSize || height < winSize) {
    throw new Error(`ssim: the image (${width}x${height}) is smaller than the ${winSize}x${winSize} window`);
  }
  const pa = new Float64Array(n);
  const pb = new Float64Array(n);
  let total = 0;
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < n; p++) {
      pa[p] = a[p * channels + c];
      pb[p] = b[p * channels + c];
    }
    total += ssimPlane(pa, pb, width, height, o);
  }
  return total / channels;
}

/**
 * SSIM on the float Y of MATLAB `rgb2ycbcr` (`rgbToY`, not rounded) of two RGB images on the
 * 0..255 scale (HWC). Reference: scikit-image 0.26 `structural_similarity` on those Y planes,
 * same settings as `ssim`.
 */
export function ssimY(rgbA: Samples, rgbB: Samples, width: number, height: number, options: SsimOptions = {}): number {
  return ssim(rgbToY(rgbA, width, height), rgbToY(rgbB, width, height), width, height, 1, options);
}
