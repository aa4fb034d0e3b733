/**
 * Error measures and bounds of ../shared/parity/README.md, as small pure functions.
 */

export interface Check {
  /** What was compared, e.g. "synth_out (synthesis.pt)". */
  readonly quantity: string;
  /** The measured error (see `measure`). */
  readonly error: number;
  readonly bound: number;
  /** Where the bound came from: "table, <= 256 px", "3 x calibration ...", "equality". */
  readonly boundOrigin?: string;
  /** "max|a-b| / max|b|" or "relative". */
  readonly measure: string;
  readonly pass: boolean;
  /** Notes a reader needs to judge a failure or a near miss (e.g. a LeakyReLU kink diagnosis). */
  readonly notes?: string[];
}

/** The check with the origin of its bound attached. */
export function withOrigin(check: Check, origin: string): Check {
  return { ...check, boundOrigin: origin };
}

export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/**
 * max |a - b| / scale, where scale defaults to max |b|: the bound form for whole tensors.
 * A quantity computed from another (a std from samples) may give the scale of its inputs.
 */
export function maxAbsErrorRatio(actual: ArrayLike<number>, expected: ArrayLike<number>, scale = maxAbs(expected)): number {
  if (actual.length !== expected.length) return Infinity;
  let err = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= err)) err = Number.isNaN(d) ? Infinity : d;
  }
  return scale === 0 ? err : err / scale;
}

/** ||a - b||_2 / ||b||_2: relative error of a whole tensor. */
export function relativeL2Error(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = actual[i] - expected[i];
    num += d * d;
    den += expected[i] * expected[i];
  }
  const r = den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
  return Number.isNaN(r) ? Infinity : r;
}

/** End-state check: judged on the L2-relative error, the max-abs ratio reported beside it. */
export function endStateCheck(quantity: string, actual: ArrayLike<number>, expected: ArrayLike<number>, bound: number): Check {
  const error = relativeL2Error(actual, expected);
  const maxAbsRatio = maxAbsErrorRatio(actual, expected);
  return { quantity, error, bound, measure: `||a-b||/||b||; max|a-b|/max|b| = ${maxAbsRatio.toExponential(2)}`, pass: error <= bound };
}

/** |a - b| / |b| (absolute error when b is 0). */
export function relativeError(actual: number, expected: number): number {
  if (Number.isNaN(actual)) return Infinity;
  const d = Math.abs(actual - expected);
  return expected === 0 ? d : d / Math.abs(expected);
}

export function tensorCheck(
  quantity: string,
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bound: number,
  scale?: { value: number; name: string },
): Check {
  const error = maxAbsErrorRatio(actual, expected, scale?.value);
  const measure = scale ? `max|a-b|/${scale.name}` : 'max|a-b|/max|b|';
  return { quantity, error, bound, measure, pass: error <= bound };
}

export function scalarCheck(quantity: string, actual: number, expected: number, bound: number): Check {
  const error = relativeError(actual, expected);
  return { quantity, error, bound, measure: 'relative', pass: error <= bound };
}

/** NCHW [n, c, h, w] row-major -> NHWC, and back. */
export function nchwToNhwc(data: Float32Array, shape: readonly number[]): Float32Array {
  const [n, c, h, w] = shape;
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * h + y) * w + x) * c + ch] = data[((b * c + ch) * h + y) * w + x];
  return out;
}

export function nhwcToNchw(data: Float32Array, shape: readonly number[]): Float32Array {
  const [n, h, w, c] = shape;
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) out[((b * c + ch) * h + y) * w + x] = data[((b * h + y) * w + x) * c + ch];
  return out;
}
