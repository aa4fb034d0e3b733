/**
 * The face crop shared by training and evaluation: one square box cut out of every source image,
 * then resized (libvips via sharp) to the model's side.
 *
 * Keep training and evaluation on the same crop: a generator trained on one framing and tested
 * on another sees faces at a scale and position it never learned.
 */
import { promises as fsp } from 'node:fs';
import sharp, { type Sharp } from 'sharp';
import { assertRgbImage, type ResizeKernel, type RgbImage } from '../io/image.js';

/** A square box in source pixels: columns `left .. left+size-1`, rows `top .. top+size-1`. */
export interface CropBox {
  left: number;
  top: number;
  size: number;
}

/**
 * A crop: an explicit box, or `'center'` = the largest centred square of each image (offsets
 * rounded down when the excess is odd). Use `'center'` for folders that are already aligned and
 * square-framed, such as CelebA-HQ and FFHQ.
 */
export type CropSpec = CropBox | 'center';

/** What `cropAndResize` reads: an image file's path, or an image already in memory. */
export type CropSource = string | RgbImage;

/**
 * The crop for deep-funneled LFW (150x150; eyes near (54,62) and (95,62), mouth near (76,108)):
 * the 112x112 square at (19,24), i.e. columns 19..130 and rows 24..135.
 *
 * In crop coordinates (fractions of the side):
 * - eyes at x ≈ 0.31 and 0.68, y ≈ 0.34 ((62-24)/112); their midpoint at x ≈ 0.50, so the face
 *   is centred horizontally;
 * - mouth at x ≈ 0.51, y ≈ 0.75 ((108-24)/112);
 * - eye distance ≈ 0.37 of the side (41/112).
 * The square runs from just above the brows to just below the chin, with a little margin.
 *
 * Why this size: tight enough that a 64 px generator spends its pixels on the face rather than
 * on background and hair (the eye distance is ~23 px at 64 px, vs ~17 px for the full 150x150
 * frame), and loose enough that a face detector (used in evaluation: identity descriptors,
 * detection rate) still finds the face — detectors want some margin around a tight face crop.
 * For comparison, FFHQ's alignment is looser (eye distance at most 0.25 of the side).
 */
export const LFW_CROP: Readonly<CropBox> = Object.freeze({ left: 19, top: 24, size: 112 });

/** Side and offsets of the `'center'` crop for a `width x height` image. */
export function centerCropBox(width: number, height: number): CropBox {
  const size = Math.min(width, height);
  return { left: Math.floor((width - size) / 2), top: Math.floor((height - size) / 2), size };
}

/** A human-readable form of a crop, for messages and cache headers. */
export function describeCrop(crop: CropSpec): string {
  return crop === 'center' ? 'center' : `${crop.size}x${crop.size}+${crop.left}+${crop.top}`;
}

/** Throws unless `crop` is `'center'` or a box with integer offsets >= 0 and side >= 1. */
export function assertCropSpec(crop: CropSpec): void {
  if (crop === 'center') return;
  if (crop === null || typeof crop !== 'object') throw new Error(`invalid crop ${String(crop)}: expected 'center' or { left, top, size }`);
  const { left, top, size } = crop;
  if (![left, top, size].every((v) => Number.isInteger(v)) || left < 0 || top < 0 || size < 1) {
    throw new Error(`invalid crop box left=${left} top=${top} size=${size}: offsets must be integers >= 0 and size an integer >= 1`);
  }
}

/** 8-bit result of a crop: HWC RGB bytes. */
export interface RgbBytes {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Crops `source` to `crop` and resizes the square to `size x size` with `kernel` (libvips;
 * default lanczos3, good for the downscaling this is used for). Returns float RGB in [0,1].
 *
 * Files are decoded like `readImage` (src/io/image.ts): EXIF orientation applied first (the box
 * is in the oriented image's pixels), alpha dropped, greyscale replicated, other colour spaces
 * converted to sRGB, first frame only, truncated or corrupt data an error naming the file.
 * 8-bit files are processed in 8 bits, so for them the result is exactly
 * `cropAndResizeBytes(...) / 255`; 16-bit files and in-memory images go through 16 bits.
 *
 * A box that does not fit inside the image throws an Error naming the file and the image size.
 */
export async function cropAndResize(source: CropSource, crop: CropSpec, size: number, kernel: ResizeKernel = 'lanczos3'): Promise<RgbImage> {
  const { width, height, samples } = await cropPipeline(source, crop, size, kernel, 'float');
  const scale = samples instanceof Uint16Array ? 65535 : 255;
  const data = new Float32Array(samples.length);
  for (let i = 0; i < data.length; i++) data[i] = samples[i] / scale;
  return { width, height, data };
}

/**
 * As `cropAndResize`, but 8-bit: the bytes libvips produces (used by the dataset cache, so the
 * cache holds exactly what an 8-bit decode gives, without a float round trip).
 */
export async function cropAndResizeBytes(source: CropSource, crop: CropSpec, size: number, kernel: ResizeKernel = 'lanczos3'): Promise<RgbBytes> {
  const { width, height, samples } = await cropPipeline(source, crop, size, kernel, 'bytes');
  return { width, height, data: samples as Uint8Array };
}

// ---------------------------------------------------------------------------------------------

async function cropPipeline(
  source: CropSource,
  crop: CropSpec,
  size: number,
  kernel: ResizeKernel,
  want: 'bytes' | 'float',
): Promise<{ width: number; height: number; samples: Uint8Array | Uint16Array }> {
  assertCropSpec(crop);
  if (!Number.isInteger(size) || size < 1) throw new Error(`invalid output size ${size}: must be an integer >= 1`);
  const name = typeof source === 'string' ? source : `in-memory image (${source.width}x${source.height})`;

  let input: () => Sharp;
  let width: number;
  let height: number;
  // 16-bit samples only where the source has more than 8 bits and floats are wanted: libvips'
  // conversion of 8-bit sRGB to rgb16 is not an exact x257, so 8-bit sources stay 8-bit.
  let wide: boolean;
  if (typeof source === 'string') {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(source);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : errorMessage(err);
      throw new Error(`${source} is not an image sharp can read: ${why}`, { cause: err });
    }
    input = () => sharp(bytes, { failOn: 'error', pages: 1, page: 0 }).autoOrient();
    try {
      const meta = await sharp(bytes, { failOn: 'error', pages: 1, page: 0 }).metadata();
      width = meta.autoOrient?.width ?? meta.width;
      height = meta.autoOrient?.height ?? meta.height;
      if (!width || !height) throw new Error('no image size in its metadata');
      wide = meta.depth !== undefined && meta.depth !== 'uchar' && meta.depth !== 'char';
      if (meta.hasAlpha) {
        // Drop alpha before resizing: sharp's resize would premultiply by alpha, changing the
        // colour channels where readImage keeps them as stored.
        const flat = await input()
          .removeAlpha()
          .toColourspace(wide ? 'rgb16' : 'srgb')
          .raw({ depth: wide ? 'ushort' : 'uchar' })
          .toBuffer({ resolveWithObject: true });
        const { width: w, height: h, channels } = flat.info;
        const samples = wide
          ? new Uint16Array(flat.data.buffer, flat.data.byteOffset, flat.data.byteLength / 2)
          : new Uint8Array(flat.data.buffer, flat.data.byteOffset, flat.data.byteLength);
        input = () => sharp(samples, { raw: { width: w, height: h, channels: channels as 1 | 2 | 3 | 4 } });
      }
    } catch (err) {
      throw new Error(`${source} is not an image sharp can read: ${errorMessage(err)}`, { cause: err });
    }
  } else {
    assertRgbImage(source, name);
    width = source.width;
    height = source.height;
    wide = true;
    const u16 = new Uint16Array(source.data.length);
    for (let i = 0; i < u16.length; i++) {
      const x = source.data[i];
      u16[i] = Math.round((x > 1 ? 1 : x > 0 ? x : 0) * 65535); // NaN -> 0
    }
    // sharp tags 16-bit raw 3-band input as rgb16.
    input = () => sharp(u16, { raw: { width, height, channels: 3 } });
  }

  const box = crop === 'center' ? centerCropBox(width, height) : crop;
  if (box.left + box.size > width || box.top + box.size > height) {
    throw new Error(
      `${name}: crop box ${describeCrop(box)} (columns ${box.left}..${box.left + box.size - 1}, rows ${box.top}..${box.top + box.size - 1}) ` +
        `does not fit inside the image, which is ${width}x${height}`,
    );
  }

  try {
    let pipeline = input();
    if (box.left !== 0 || box.top !== 0 || box.size !== width || box.size !== height) {
      pipeline = pipeline.extract({ left: box.left, top: box.top, width: box.size, height: box.size });
    }
    if (box.size !== size) pipeline = pipeline.resize(size, size, { kernel, fit: 'fill' });
    const depth = want === 'float' && wide ? 'ushort' : 'uchar';
    pipeline = pipeline.removeAlpha().toColourspace(depth === 'ushort' ? 'rgb16' : 'srgb');
    const { data, info } = await pipeline.raw({ depth }).toBuffer({ resolveWithObject: true });
    if (info.width !== size || info.height !== size || info.channels !== 3) {
      throw new Error(`decoder returned ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`);
    }
    const samples =
      depth === 'ushort'
        ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (samples.length !== size * size * 3) throw new Error(`decoder returned ${samples.length} samples, expected ${size * size * 3}`);
    return { width: size, height: size, samples };
  } catch (err) {
    throw new Error(`${name}: cannot crop and resize: ${errorMessage(err)}`, { cause: err });
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
