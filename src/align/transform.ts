/**
 * FFHQ alignment, step 3: the quad -> an upright square of `size` px.
 *
 * FFHQ samples the quad bilinearly onto a 4096 px square (PIL `Image.transform(QUAD, BILINEAR)`)
 * and resizes that to 1024 px with an antialiasing Lanczos filter: the quad is supersampled 4x
 * per output pixel, then filtered down. Here the same at any size: bilinear sampling onto a
 * square of `supersample * size` px (default 4, FFHQ's 4096/1024), then libvips' lanczos3
 * (sharp) down to `size`. Because the photo was shrunk until the quad is under ~4 output sides
 * (src/align/crop-pad.ts), bilinear taps at 4x never skip source pixels.
 *
 * Sampling grid: output pixel (i, j) (column, row) has its centre at u = (i + 0.5) / T,
 * v = (j + 0.5) / T; it reads the source at c + (2u-1) x + (2v-1) y in pixel-index coordinates
 * (pixel k's centre at k). That is PIL's QUAD map with FFHQ's `quad + 0.5` (PIL puts pixel k's
 * centre at k + 0.5). Points outside the image read the nearest edge pixel (PIL would give black;
 * after FFHQ's padding the quad lies inside anyway).
 */
import { assertRgbImage, resizeImage, type RgbImage } from '../io/image.js';
import { fromAligned, type AlignQuad } from './quad.js';

/** Bilinear sample of `image` at pixel-index coordinates (x, y), edges clamped; writes 3 values to `out[o..o+2]`. */
export function sampleBilinear(image: RgbImage, x: number, y: number, out: Float32Array, o: number): void {
  const { width: w, height: h, data } = image;
  const cx = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
  const cy = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const x1 = x0 + 1 < w ? x0 + 1 : x0;
  const y1 = y0 + 1 < h ? y0 + 1 : y0;
  const fx = cx - x0;
  const fy = cy - y0;
  const a = (y0 * w + x0) * 3;
  const b = (y0 * w + x1) * 3;
  const c = (y1 * w + x0) * 3;
  const d = (y1 * w + x1) * 3;
  for (let k = 0; k < 3; k++) {
    const top = data[a + k] + (data[b + k] - data[a + k]) * fx;
    const bottom = data[c + k] + (data[d + k] - data[c + k]) * fx;
    out[o + k] = top + (bottom - top) * fy;
  }
}

/** The quad sampled bilinearly onto a `side x side` square (no antialiasing: see `quadToSquare`). */
export function sampleQuad(image: RgbImage, quad: AlignQuad, side: number): RgbImage {
  assertRgbImage(image);
  if (!Number.isInteger(side) || side < 1) throw new Error(`invalid side ${side}`);
  const data = new Float32Array(side * side * 3);
  for (let j = 0; j < side; j++) {
    const v = (j + 0.5) / side;
    for (let i = 0; i < side; i++) {
      const p = fromAligned(quad, (i + 0.5) / side, v);
      sampleBilinear(image, p.x, p.y, data, (j * side + i) * 3);
    }
  }
  return { width: side, height: side, data };
}

/** The quad as an upright `size x size` square: bilinear at `supersample * size`, then lanczos3 down. */
export async function quadToSquare(image: RgbImage, quad: AlignQuad, size: number, supersample = 4): Promise<RgbImage> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`invalid aligned size ${size}: must be an integer >= 1`);
  if (!Number.isInteger(supersample) || supersample < 1) throw new Error(`invalid supersampling factor ${supersample}`);
  const big = sampleQuad(image, quad, size * supersample);
  return supersample === 1 ? big : resizeImage(big, size, size, 'lanczos3');
}
