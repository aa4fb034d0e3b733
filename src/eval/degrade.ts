/**
 * A controlled loss of detail for real faces, to calibrate the descriptor measures of
 * `pulse eval-model` (scripts/calibrate-descriptor-measures.ts): how far do the Frechet distance
 * and the diversity ratio move when real faces of many people merely lose sharpness? That is
 * the part of a generator's score that image quality, not the spread of identities, explains.
 *
 * softenByFactor: average each factor x factor block (a box filter: the image at 1/factor of
 * its side, as an ideal downscale would make it), then bilinear upsampling with half-pixel
 * centres back to the original side (the convention of tf.image.resizeBilinear with
 * halfPixelCenters, the edges clamped). Plain loops: 64 px faces, no gradient needed.
 */
import type { RgbImage } from '../io/rgb-image.js';

/** The image at 1/factor of its side: the mean of each factor x factor block. */
export function boxDownscale(image: RgbImage, factor: number): RgbImage {
  const { width, height, data } = image;
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`boxDownscale: factor must be a positive integer; got ${factor}`);
  if (width % factor !== 0 || height % factor !== 0) {
    throw new Error(`boxDownscale: the image is ${width}x${height}, not divisible by the factor ${factor}; use a factor that divides both sides`);
  }
  const w = width / factor;
  const h = height / factor;
  const out = new Float32Array(w * h * 3);
  const norm = 1 / (factor * factor);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let s = 0;
        for (let dy = 0; dy < factor; dy++) {
          const row = (y * factor + dy) * width;
          for (let dx = 0; dx < factor; dx++) s += data[(row + x * factor + dx) * 3 + c];
        }
        out[(y * w + x) * 3 + c] = s * norm;
      }
    }
  }
  return { width: w, height: h, data: out };
}

/** Bilinear upsampling by an integer factor, half-pixel centres, edges clamped. */
export function bilinearUpscale(image: RgbImage, factor: number): RgbImage {
  const { width, height, data } = image;
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`bilinearUpscale: factor must be a positive integer; got ${factor}`);
  const W = width * factor;
  const H = height * factor;
  const out = new Float32Array(W * H * 3);
  // Source coordinate of output pixel i: (i + 0.5) / factor - 0.5, clamped into the image.
  const taps = (i: number, n: number): [number, number, number] => {
    const s = Math.min(Math.max((i + 0.5) / factor - 0.5, 0), n - 1);
    const i0 = Math.floor(s);
    return [i0, Math.min(i0 + 1, n - 1), s - i0];
  };
  for (let Y = 0; Y < H; Y++) {
    const [y0, y1, fy] = taps(Y, height);
    for (let X = 0; X < W; X++) {
      const [x0, x1, fx] = taps(X, width);
      for (let c = 0; c < 3; c++) {
        const top = data[(y0 * width + x0) * 3 + c] * (1 - fx) + data[(y0 * width + x1) * 3 + c] * fx;
        const bottom = data[(y1 * width + x0) * 3 + c] * (1 - fx) + data[(y1 * width + x1) * 3 + c] * fx;
        out[(Y * W + X) * 3 + c] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return { width: W, height: H, data: out };
}

/** The image with the detail finer than 1/factor of its side removed, at its own size. */
export function softenByFactor(image: RgbImage, factor: number): RgbImage {
  return factor === 1 ? image : bilinearUpscale(boxDownscale(image, factor), factor);
}
