/**
 * MATLAB `imresize(img, scale)` with the default bicubic kernel (Keys, a = -0.5) and
 * antialiasing when downscaling, as BasicSR's `basicsr/utils/matlab_functions.py` `imresize`
 * ports it (the resize NIQE uses for its second scale).
 *
 * Per axis (height first, then width, as MATLAB does for equal scales):
 * - output length `ceil(in * scale)`;
 * - output pixel k (1-based) maps to input coordinate `u = k / scale + 0.5 (1 - 1 / scale)`;
 * - kernel width 4, widened to `4 / scale` with the kernel scaled by `scale` when downscaling
 *   with antialiasing (weights `scale * cubic(scale * d)`);
 * - taps `floor(u - width / 2) + 0 .. ceil(width) + 1`, weights normalised to sum 1, tap columns
 *   that are zero for every output dropped (MATLAB; BasicSR drops the first/last column when
 *   it holds a zero, which is the same thing for the scales used here: 0.5 and powers of 2);
 * - out-of-range taps read mirrored input, half-sample symmetric (d c b a | a b c d | d c b a).
 *
 * The `float32` option reproduces BasicSR's torch float32 arithmetic at its storage points:
 * weights, the intermediate (height-resized) image and the output are rounded to float32.
 * For scale 0.5 the weights (-0.01171875, -0.03515625, 0.11328125, 0.43359375, mirrored) are
 * dyadic and exact either way, and each 8-tap sum is exact in float64 before that rounding.
 */

/** A single-channel image, row-major, float64. */
export interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

export interface ImresizeOptions {
  /** Antialias when downscaling (MATLAB's default, true). */
  antialiasing?: boolean;
  /** Round weights and stored results to float32 like BasicSR's torch code (default false). */
  float32?: boolean;
}

/** Keys' cubic convolution kernel with a = -0.5 (MATLAB's `cubic`). */
export function cubicKernel(x: number): number {
  const ax = Math.abs(x);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

/** Interpolation taps of one axis: output k reads `indices[k*taps + j]` with `weights[k*taps + j]`. */
export interface AxisWeights {
  taps: number;
  weights: Float64Array;
  /** 0-based input indices, already mirrored into [0, inLength). */
  indices: Int32Array;
}

function mirror(i: number, n: number): number {
  const period = 2 * n;
  let m = i % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

/** MATLAB `contributions(in_length, out_length, scale, @cubic, 4, antialiasing)`. */
export function axisWeights(inLength: number, outLength: number, scale: number, antialiasing = true, float32 = false): AxisWeights {
  const f = float32 ? Math.fround : (v: number) => v;
  const shrink = scale < 1 && antialiasing;
  const kernelWidth = shrink ? 4 / scale : 4;
  const p = Math.ceil(kernelWidth) + 2;
  const raw = new Float64Array(outLength * p);
  const rawIdx = new Int32Array(outLength * p);
  for (let k = 0; k < outLength; k++) {
    const x = k + 1;
    const u = f(f(x / scale) + 0.5 * (1 - 1 / scale));
    const left = Math.floor(f(u - kernelWidth / 2));
    let sum = 0;
    for (let j = 0; j < p; j++) {
      const idx = left + j; // 1-based
      const d = f(u - idx);
      const w = shrink ? f(scale * f(cubicKernel(f(d * scale)))) : f(cubicKernel(d));
      raw[k * p + j] = w;
      rawIdx[k * p + j] = idx;
      sum = f(sum + w);
    }
    for (let j = 0; j < p; j++) raw[k * p + j] = f(raw[k * p + j] / sum);
  }
  // Drop tap columns that are zero for every output.
  const keep: number[] = [];
  for (let j = 0; j < p; j++) {
    let any = false;
    for (let k = 0; k < outLength && !any; k++) any = raw[k * p + j] !== 0;
    if (any) keep.push(j);
  }
  const taps = keep.length;
  const weights = new Float64Array(outLength * taps);
  const indices = new Int32Array(outLength * taps);
  for (let k = 0; k < outLength; k++) {
    for (let t = 0; t < taps; t++) {
      weights[k * taps + t] = raw[k * p + keep[t]];
      indices[k * taps + t] = mirror(rawIdx[k * p + keep[t]] - 1, inLength);
    }
  }
  return { taps, weights, indices };
}

function checkPlane(plane: Plane, what: string): void {
  const { width, height, data } = plane;
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`${what}: invalid size ${width}x${height}`);
  }
  if (data.length !== width * height) throw new Error(`${what}: ${width}x${height} plane holds ${data.length} values`);
}

/**
 * MATLAB `imresize(plane, scale)` (bicubic, antialiased when shrinking) of one channel.
 * The output is `ceil(height * scale)` x `ceil(width * scale)`, not rounded or clamped.
 */
export function matlabImresize(plane: Plane, scale: number, options: ImresizeOptions = {}): Plane {
  checkPlane(plane, 'matlabImresize');
  if (!(scale > 0) || !Number.isFinite(scale)) throw new Error(`matlabImresize: invalid scale ${scale}`);
  const antialiasing = options.antialiasing ?? true;
  const float32 = options.float32 ?? false;
  const f = float32 ? Math.fround : (v: number) => v;
  const { width, height, data } = plane;
  const outH = Math.ceil(height * scale);
  const outW = Math.ceil(width * scale);
  if (outH < 1 || outW < 1) throw new Error(`matlabImresize: scale ${scale} leaves no pixels of ${width}x${height}`);
  const wh = axisWeights(height, outH, scale, antialiasing, float32);
  const ww = axisWeights(width, outW, scale, antialiasing, float32);

  // Height first.
  const mid = new Float64Array(outH * width);
  for (let k = 0; k < outH; k++) {
    const base = k * wh.taps;
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let t = 0; t < wh.taps; t++) s += wh.weights[base + t] * data[wh.indices[base + t] * width + x];
      mid[k * width + x] = f(s);
    }
  }
  // Then width.
  const out = new Float64Array(outH * outW);
  for (let y = 0; y < outH; y++) {
    const row = y * width;
    for (let k = 0; k < outW; k++) {
      const base = k * ww.taps;
      let s = 0;
      for (let t = 0; t < ww.taps; t++) s += ww.weights[base + t] * mid[row + ww.indices[base + t]];
      out[y * outW + k] = f(s);
    }
  }
  return { width: outW, height: outH, data: out };
}

/**
 * `matlabImresize` of an interleaved HWC image with `channels` channels (each channel resized
 * independently). Returns float64 values, not rounded or clamped.
 */
export function matlabImresizeHwc(
  data: Uint8Array | Float64Array,
  width: number,
  height: number,
  channels: number,
  scale: number,
  options: ImresizeOptions = {},
): { width: number; height: number; data: Float64Array } {
  if (!Number.isInteger(channels) || channels < 1) throw new Error(`matlabImresizeHwc: invalid channel count ${channels}`);
  if (data.length !== width * height * channels) {
    throw new Error(`matlabImresizeHwc: ${width}x${height}x${channels} image holds ${data.length} values`);
  }
  let out: Float64Array | null = null;
  let outW = 0;
  let outH = 0;
  const plane = new Float64Array(width * height);
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < plane.length; p++) plane[p] = data[p * channels + c];
    const r = matlabImresize({ width, height, data: plane }, scale, options);
    if (out === null) {
      outW = r.width;
      outH = r.height;
      out = new Float64Array(outW * outH * channels);
    }
    for (let p = 0; p < r.data.length; p++) out[p * channels + c] = r.data[p];
  }
  return { width: outW, height: outH, data: out! };
}
