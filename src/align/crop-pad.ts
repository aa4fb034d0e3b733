/**
 * FFHQ alignment, step 2: bring the photo to a size the quad can be sampled from — shrink large
 * photos, crop to the quad plus a border, and where the quad reaches outside the photo, pad it by
 * reflection with a blurred, fading border (FFHQ's recreate_aligned_images, "Shrink", "Crop",
 * "Pad"; see docs/align.md). Works on float RGB in [0,1] where FFHQ works on 0-255 (every step is
 * linear in the values, so only the scale differs) and never rounds to 8 bits in between.
 */
import { assertRgbImage, resizeImage, type RgbImage } from '../io/image.js';
import type { AlignQuad, Point } from './quad.js';

/** numpy's `rint`: round half to even. */
export function rint(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** What `preparePhoto` did, for reports. */
export interface PrepareSteps {
  /** Integer factor the photo was shrunk by (1 = not shrunk). */
  shrink: number;
  /** The crop box [left, top, right, bottom) in the (shrunk) photo, or null when not cropped. */
  crop: [number, number, number, number] | null;
  /** Padding [left, top, right, bottom] added, or null when none. */
  pad: [number, number, number, number] | null;
}

export interface PreparedPhoto {
  image: RgbImage;
  /** The quad moved into `image`'s pixels. */
  quad: AlignQuad;
  steps: PrepareSteps;
}

function moveQuad(q: AlignQuad, scale: number, dx: number, dy: number): AlignQuad {
  const p = (v: Point): Point => ({ x: v.x * scale + dx, y: v.y * scale + dy });
  const v = (w: Point): Point => ({ x: w.x * scale, y: w.y * scale });
  return {
    corners: q.corners.map(p) as AlignQuad['corners'],
    center: p(q.center),
    x: v(q.x),
    y: v(q.y),
    size: q.size * scale,
  };
}

function bounds(q: AlignQuad): { minX: number; minY: number; maxX: number; maxY: number } {
  const xs = q.corners.map((c) => c.x);
  const ys = q.corners.map((c) => c.y);
  return { minX: Math.min(...xs), minY: Math.min(...ys), maxX: Math.max(...xs), maxY: Math.max(...ys) };
}

/** Rows `top..bottom-1`, columns `left..right-1` of an image. */
export function cropImage(image: RgbImage, left: number, top: number, right: number, bottom: number): RgbImage {
  const w = right - left;
  const h = bottom - top;
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const start = ((top + y) * image.width + left) * 3;
    data.set(image.data.subarray(start, start + w * 3), y * w * 3);
  }
  return { width: w, height: h, data };
}

/** numpy.pad's 'reflect' index (mirror about the edge pixels, which are not repeated). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const k = ((i % period) + period) % period;
  return k < n ? k : period - k;
}

/** scipy.ndimage's 'reflect' index (mirror about the image edge: the edge pixel repeats). */
function symmetricIndex(i: number, n: number): number {
  const period = 2 * n;
  const k = ((i % period) + period) % period;
  return k < n ? k : period - 1 - k;
}

/** Pads by numpy 'reflect' mode: `pad` = [left, top, right, bottom]. */
export function reflectPad(image: RgbImage, pad: readonly [number, number, number, number]): RgbImage {
  const [l, t, r, b] = pad;
  const w = image.width + l + r;
  const h = image.height + t + b;
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = reflectIndex(y - t, image.height);
    for (let x = 0; x < w; x++) {
      const sx = reflectIndex(x - l, image.width);
      const s = (sy * image.width + sx) * 3;
      const d = (y * w + x) * 3;
      data[d] = image.data[s];
      data[d + 1] = image.data[s + 1];
      data[d + 2] = image.data[s + 2];
    }
  }
  return { width: w, height: h, data };
}

/**
 * scipy.ndimage.gaussian_filter(img, [sigma, sigma, 0]): separable, radius int(4 sigma + 0.5),
 * weights exp(-x^2 / (2 sigma^2)) normalised, edges in scipy's 'reflect' mode (edge repeated).
 */
export function gaussianBlur(image: RgbImage, sigma: number): RgbImage {
  const { width: w, height: h } = image;
  if (!(sigma > 0)) return { width: w, height: h, data: image.data.slice() };
  const radius = Math.floor(4 * sigma + 0.5);
  const weights = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) sum += weights[k + radius] = Math.exp((-0.5 * k * k) / (sigma * sigma));
  for (let k = 0; k < weights.length; k++) weights[k] /= sum;
  const pass = (src: Float32Array, along: 'x' | 'y'): Float32Array => {
    const out = new Float32Array(src.length);
    const n = along === 'x' ? w : h;
    const idx = new Int32Array(n + 2 * radius);
    for (let i = 0; i < idx.length; i++) idx[i] = symmetricIndex(i - radius, n);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const pos = along === 'x' ? x : y;
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = 0; k < weights.length; k++) {
          const j = idx[pos + k];
          const s = (along === 'x' ? y * w + j : j * w + x) * 3;
          const wk = weights[k];
          r += wk * src[s];
          g += wk * src[s + 1];
          b += wk * src[s + 2];
        }
        const d = (y * w + x) * 3;
        out[d] = r;
        out[d + 1] = g;
        out[d + 2] = b;
      }
    }
    return out;
  };
  return { width: w, height: h, data: pass(pass(image.data, 'y'), 'x') };
}

/** numpy.median over all pixels, per channel (mean of the two middle values for an even count). */
export function channelMedians(image: RgbImage): [number, number, number] {
  const n = image.width * image.height;
  const out: number[] = [];
  for (let c = 0; c < 3; c++) {
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = image.data[i * 3 + c];
    v.sort();
    out.push(n % 2 === 1 ? v[(n - 1) / 2] : (v[n / 2 - 1] + v[n / 2]) / 2);
  }
  return out as [number, number, number];
}

/**
 * The padded border of FFHQ: reflect-pad, then blend towards a Gaussian blur (sigma 0.02 qsize)
 * with weight clip(3 mask + 1, 0, 1), then towards the per-channel median with weight
 * clip(mask, 0, 1), where mask is 0 at the photo's edge and rises to 1 at the canvas's edge
 * (negative inside the photo, so the blur fades in over the outer third of a pad width inside).
 */
export function padWithFade(image: RgbImage, pad: readonly [number, number, number, number], qsize: number): RgbImage {
  const padded = reflectPad(image, pad);
  const { width: w, height: h } = padded;
  const [pl, pt, pr, pb] = pad.map((p) => Math.max(p, 1e-12)); // FFHQ's pads are >= rint(0.3 qsize) > 0 here
  const blurred = gaussianBlur(padded, qsize * 0.02);
  const data = padded.data;
  for (let y = 0; y < h; y++) {
    const my = 1 - Math.min(y / pt, (h - 1 - y) / pb);
    for (let x = 0; x < w; x++) {
      const mask = Math.max(1 - Math.min(x / pl, (w - 1 - x) / pr), my);
      const a = Math.min(1, Math.max(0, mask * 3 + 1));
      const d = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) data[d + c] += (blurred.data[d + c] - data[d + c]) * a;
    }
  }
  const median = channelMedians(padded);
  for (let y = 0; y < h; y++) {
    const my = 1 - Math.min(y / pt, (h - 1 - y) / pb);
    for (let x = 0; x < w; x++) {
      const mask = Math.max(1 - Math.min(x / pl, (w - 1 - x) / pr), my);
      const a = Math.min(1, Math.max(0, mask));
      if (a === 0) continue;
      const d = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) data[d + c] += (median[c] - data[d + c]) * a;
    }
  }
  return padded;
}

/**
 * Shrink, crop and pad as FFHQ does, for an aligned output of `outputSize` px:
 * - shrink = floor(qsize / outputSize / 2); when > 1 the photo is resized by 1/shrink
 *   (lanczos3; PIL's ANTIALIAS) and the quad with it;
 * - border = max(rint(0.1 qsize), 3); crop to the quad's bounding box plus the border, within
 *   the photo;
 * - pad = how far the quad plus the border reaches outside; when its largest side exceeds
 *   border - 4, every side is padded by at least rint(0.3 qsize) with `padWithFade`.
 */
export async function preparePhoto(photo: RgbImage, quad: AlignQuad, outputSize: number): Promise<PreparedPhoto> {
  assertRgbImage(photo, 'photo');
  let image = photo;
  let q = quad;
  const steps: PrepareSteps = { shrink: 1, crop: null, pad: null };

  const shrink = Math.floor((q.size / outputSize) * 0.5);
  if (shrink > 1) {
    const rw = Math.max(1, rint(image.width / shrink));
    const rh = Math.max(1, rint(image.height / shrink));
    image = await resizeImage(image, rw, rh, 'lanczos3');
    q = moveQuad(q, 1 / shrink, 0, 0);
    steps.shrink = shrink;
  }

  const border = Math.max(rint(q.size * 0.1), 3);
  let b = bounds(q);
  const crop: [number, number, number, number] = [
    Math.max(Math.floor(b.minX) - border, 0),
    Math.max(Math.floor(b.minY) - border, 0),
    Math.min(Math.ceil(b.maxX) + border, image.width),
    Math.min(Math.ceil(b.maxY) + border, image.height),
  ];
  if (crop[2] <= crop[0] || crop[3] <= crop[1]) throw new Error('the face lies outside the photo');
  if (crop[2] - crop[0] < image.width || crop[3] - crop[1] < image.height) {
    image = cropImage(image, ...crop);
    q = moveQuad(q, 1, -crop[0], -crop[1]);
    steps.crop = crop;
  }

  b = bounds(q);
  let pad: [number, number, number, number] = [
    Math.max(-Math.floor(b.minX) + border, 0),
    Math.max(-Math.floor(b.minY) + border, 0),
    Math.max(Math.ceil(b.maxX) - image.width + border, 0),
    Math.max(Math.ceil(b.maxY) - image.height + border, 0),
  ];
  if (Math.max(...pad) > border - 4) {
    const least = rint(q.size * 0.3);
    pad = pad.map((p) => Math.max(p, least)) as typeof pad;
    image = padWithFade(image, pad, q.size);
    q = moveQuad(q, 1, pad[0], pad[1]);
    steps.pad = pad;
  }
  return { image, quad: q, steps };
}
