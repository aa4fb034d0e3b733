/**
 * Image resizing in plain TypeScript, for where sharp (libvips) cannot run: the web page's FFHQ
 * alignment (src/web/image.ts puts it behind src/io/image.ts's `resizeImage`). Node keeps sharp.
 *
 * A separable convolution resampler in the manner of Pillow's ImagingResample: output pixel i
 * has its centre at source coordinate c = (i + 0.5) * in/out; when shrinking, the kernel is
 * stretched by in/out so that it antialiases (a low-pass at the output's Nyquist rate); taps
 * falling outside the image are dropped and the remaining weights renormalised. Kernels:
 * lanczos3 (sinc(x) sinc(x/3), |x| < 3), cubic (Catmull-Rom, Keys a = -0.5, |x| < 2), nearest.
 * libvips differs at the edges and in its reduce's grid details; test/resample.test.ts bounds
 * the difference from sharp.
 */
import { assertRgbImage, type ResizeKernel, type RgbImage } from './rgb-image.js';

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

const KERNELS: Record<Exclude<ResizeKernel, 'nearest'>, { support: number; f: (x: number) => number }> = {
  lanczos3: { support: 3, f: (x) => (Math.abs(x) < 3 ? sinc(x) * sinc(x / 3) : 0) },
  cubic: {
    support: 2,
    f: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
      return 0;
    },
  },
};

/** Taps of a 1-D resampling from `inSize` to `outSize`: first source index and weights per output. */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  weights: Float64Array;
  /** Weights per output in `weights`. */
  stride: number;
}

function computeTaps(inSize: number, outSize: number, kernel: Exclude<ResizeKernel, 'nearest'>): Taps {
  const { support, f } = KERNELS[kernel];
  const scale = inSize / outSize;
  const stretch = Math.max(scale, 1);
  const reach = support * stretch;
  const stride = Math.ceil(reach) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * stride);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - reach + 0.5));
    const hi = Math.min(inSize, Math.floor(centre + reach + 0.5));
    let sum = 0;
    for (let j = lo; j < hi; j++) {
      const w = f((j + 0.5 - centre) / stretch);
      weights[i * stride + j - lo] = w;
      sum += w;
    }
    if (sum !== 0) for (let j = lo; j < hi; j++) weights[i * stride + j - lo] /= sum;
    first[i] = lo;
    count[i] = hi - lo;
  }
  return { first, count, weights, stride };
}

/** One separable pass along x (rows keep their length `height`). */
function resampleRows(src: Float32Array, width: number, height: number, outWidth: number, taps: Taps): Float32Array {
  const out = new Float32Array(outWidth * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < outWidth; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      const base = x * taps.stride;
      for (let k = 0; k < taps.count[x]; k++) {
        const w = taps.weights[base + k];
        const s = row + (taps.first[x] + k) * 3;
        r += w * src[s];
        g += w * src[s + 1];
        b += w * src[s + 2];
      }
      const d = (y * outWidth + x) * 3;
      out[d] = r;
      out[d + 1] = g;
      out[d + 2] = b;
    }
  }
  return out;
}

/** One separable pass along y. */
function resampleColumns(src: Float32Array, width: number, outHeight: number, taps: Taps): Float32Array {
  const out = new Float32Array(width * outHeight * 3);
  for (let y = 0; y < outHeight; y++) {
    const base = y * taps.stride;
    const d0 = y * width * 3;
    for (let k = 0; k < taps.count[y]; k++) {
      const w = taps.weights[base + k];
      const s0 = (taps.first[y] + k) * width * 3;
      for (let i = 0; i < width * 3; i++) out[d0 + i] += w * src[s0 + i];
    }
  }
  return out;
}

/** Nearest neighbour (source pixel floor((dst + 0.5) * in/out)). */
function resampleNearest(image: RgbImage, width: number, height: number): RgbImage {
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(image.height - 1, Math.floor(((y + 0.5) * image.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(image.width - 1, Math.floor(((x + 0.5) * image.width) / width));
      out.set(image.data.subarray((sy * image.width + sx) * 3, (sy * image.width + sx) * 3 + 3), (y * width + x) * 3);
    }
  }
  return { width, height, data: out };
}

/** `image` resized to `width x height` (aspect ratio not kept), float in and out, no clamping. */
export function resampleImage(image: RgbImage, width: number, height: number, kernel: ResizeKernel): RgbImage {
  assertRgbImage(image);
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`invalid resize target ${width}x${height}`);
  }
  if (kernel === 'nearest') return resampleNearest(image, width, height);
  const rows = width === image.width ? image.data : resampleRows(image.data, image.width, image.height, width, computeTaps(image.width, width, kernel));
  const data = height === image.height ? rows.slice() : resampleColumns(rows, width, height, computeTaps(image.height, height, kernel));
  return { width, height, data };
}
