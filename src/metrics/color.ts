/**
 * Colour helpers for the image-quality metrics: MATLAB's `rgb2ycbcr` luma (ITU-R BT.601,
 * "studio swing", Y in [16, 235] for 8-bit input), in the two forms the references use, and
 * conversion of the project's float images to bytes.
 *
 * - `rgbToY`: the float Y, `16 + (65.481 R + 128.553 G + 24.966 B) / 255` on 0..255 values, in
 *   float64. This is what the SSIM-on-Y references (`ssim_psnr_cases.json`) were computed on.
 * - `rgbToYRoundedBasicSR`: Y rounded to integers the way BasicSR 1.4.2 `calculate_niqe`
 *   computes it (`metric_util.to_y_channel` -> `bgr2ycbcr(y_only=True)` in float32, then
 *   `np.round`, i.e. half to even), with BasicSR's float32 rounding points emulated so that
 *   values that land on .5 round the same way.
 */
import type { RgbImage } from '../io/image.js';

/** Interleaved samples on the 0..255 scale: bytes, or float64 values. */
export type Samples = Uint8Array | Float64Array;

const KR = 65.481;
const KG = 128.553;
const KB = 24.966;

function checkRgb(rgb: Samples, width: number, height: number, what: string): number {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`${what}: invalid size ${width}x${height}`);
  }
  const n = width * height;
  if (rgb.length !== n * 3) {
    throw new Error(`${what}: expected ${width}x${height}x3 = ${n * 3} RGB values, got ${rgb.length}`);
  }
  return n;
}

/**
 * Float Y of MATLAB `rgb2ycbcr` from interleaved RGB on the 0..255 scale (HWC):
 * `Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255`, float64, not rounded.
 */
export function rgbToY(rgb: Samples, width: number, height: number): Float64Array {
  const n = checkRgb(rgb, width, height, 'rgbToY');
  const out = new Float64Array(n);
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    out[p] = 16 + (KR * rgb[i] + KG * rgb[i + 1] + KB * rgb[i + 2]) / 255;
  }
  return out;
}

/** Rounds to the nearest integer, ties to even (numpy's `np.round`, IEEE roundTiesToEven). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties toward +infinity
  if (r - x === 0.5 && r % 2 !== 0) return r - 1; // x was a tie and r is odd
  return r;
}

/**
 * Integer Y of MATLAB `rgb2ycbcr` from 8-bit RGB (HWC), exactly as BasicSR 1.4.2 computes the
 * Y it feeds to NIQE: the bytes scaled to [0,1] in float32, `bgr2ycbcr(y_only=True)`
 * (`dot([B,G,R], [24.966, 128.553, 65.481]) + 16` in float64, `/ 255`, cast to float32),
 * times 255 in float32, then rounded half to even. Returned as float64 integers 16..235.
 */
export function rgbToYRoundedBasicSR(rgb: Uint8Array, width: number, height: number): Float64Array {
  const n = checkRgb(rgb, width, height, 'rgbToYRoundedBasicSR');
  const scaled = new Float64Array(256);
  for (let v = 0; v < 256; v++) scaled[v] = Math.fround(v / 255);
  const out = new Float64Array(n);
  for (let p = 0, i = 0; p < n; p++, i += 3) {
    const r = scaled[rgb[i]];
    const g = scaled[rgb[i + 1]];
    const b = scaled[rgb[i + 2]];
    const y01 = Math.fround((b * KB + g * KG + r * KR + 16) / 255);
    out[p] = roundHalfEven(Math.fround(y01 * 255));
  }
  return out;
}

/**
 * The project's float RGB image (values in [0,1]) as 8-bit RGB, HWC: `round(v * 255)` after
 * clamping to [0,1]. For 8-bit files read with `readImage` (which stores byte/255) this recovers
 * the file's bytes exactly. NaN gives 0.
 */
export function rgbImageToBytes(image: RgbImage): Uint8Array {
  const { data } = image;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    out[i] = Math.round((x > 1 ? 1 : x > 0 ? x : 0) * 255);
  }
  return out;
}
