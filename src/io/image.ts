/**
 * Image I/O over sharp (libvips): reading any format sharp decodes into float RGB in [0,1],
 * writing 8-bit RGB PNGs the way PULSE (torchvision's ToPILImage) does, and small helpers for
 * slicing, cropping, resizing and building side-by-side montages.
 *
 * Reading (`readImage`):
 * - EXIF orientation is applied (sharp `.autoOrient()`, i.e. `.rotate()` with no angle), so the
 *   pixels come back the way a viewer shows them; width/height are those after orientation.
 * - Alpha (RGBA, grey+alpha, palette PNGs with transparency) is dropped, not composited: the
 *   colour channels are kept as stored. A notice says so.
 * - Greyscale is replicated to three equal channels, with a notice.
 * - 16-bit PNG/TIFF is read at full 16-bit precision (value / 65535), with a notice.
 * - CMYK, Lab and other colour spaces are converted to sRGB by libvips (with a notice); an
 *   embedded ICC profile is honoured by sharp's usual conversion to sRGB.
 * - Multi-frame inputs (GIF, WebP, TIFF) give their first frame.
 * - A missing, unreadable, corrupt or truncated file throws an Error naming the file.
 *   Decoding uses sharp's `failOn: 'error'`: truncated data and decode errors abort (as PIL
 *   does by default), mere decoder warnings do not.
 * - Files are read into memory first and decoded from the buffer, so libvips' file cache can
 *   never hand back stale pixels for a file that was just rewritten.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import sharp from 'sharp';
import { assertRgbImage, toBytesLikeTorchvision, type ResizeKernel, type RgbImage } from './rgb-image.js';

export * from './rgb-image.js';

export interface ReadImageResult {
  image: RgbImage;
  /** Human-readable notes about conversions applied (alpha dropped, greyscale, 16-bit, ...). */
  notices: string[];
}

export interface WritePngOptions {
  /** Replace an existing file. Without it, writing onto an existing path throws. */
  force?: boolean;
}

export interface MontageOptions {
  /** One label per image (missing or empty entries get none), drawn under each tile. */
  labels?: string[];
  /** White pixels between tiles (default 4). */
  gap?: number;
  /** Height every tile is scaled to (nearest neighbour). */
  height: number;
}

const DEFAULT_GAP = 4;

// ---------------------------------------------------------------------------------------------
// Reading

const RGB_SPACES = new Set(['srgb', 'rgb', 'rgb16', 'scrgb']);
const GREY_SPACES = new Set(['b-w', 'grey16']);

/**
 * Reads an image file as float RGB in [0,1]. See the module comment for the conversions applied;
 * each one that changes what the file holds is reported in `notices`, naming the file.
 */
export async function readImage(path: string): Promise<ReadImageResult> {
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : errorMessage(err);
    throw new Error(`${path} is not an image sharp can read: ${why}`, { cause: err });
  }

  const notices: string[] = [];
  try {
    const input = () => sharp(bytes, { failOn: 'error', pages: 1, page: 0 });
    const meta = await input().metadata();
    const space = String(meta.space ?? '');
    const depth = String(meta.depth ?? 'uchar');
    const grey = GREY_SPACES.has(space) || meta.channels === 1 || (meta.channels === 2 && !RGB_SPACES.has(space));

    if (meta.hasAlpha) notices.push(`${path} has an alpha channel; it was dropped (PULSE works on RGB)`);
    if (grey) {
      notices.push(`${path} is greyscale; it was replicated to three RGB channels`);
    } else if (space !== '' && !RGB_SPACES.has(space)) {
      notices.push(`${path} is in the ${space} colour space; it was converted to sRGB`);
    }
    const wide = depth !== 'uchar' && depth !== 'char';
    if (depth === 'ushort') {
      notices.push(`${path} is a 16-bit image; it was read at full 16-bit precision (values / 65535)`);
    } else if (wide) {
      notices.push(`${path} stores ${depth} samples; it was read at 16-bit precision`);
    }

    let pipeline = input().autoOrient();
    if (meta.hasAlpha) pipeline = pipeline.removeAlpha();
    pipeline = pipeline.toColourspace(wide ? 'rgb16' : 'srgb');
    const { data, info } = await pipeline.raw({ depth: wide ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });

    const { width, height, channels } = info;
    const samples = wide
      ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const scale = wide ? 65535 : 255;
    if (samples.length !== width * height * channels || channels < 1) {
      throw new Error(`decoder returned ${samples.length} samples for ${width}x${height}x${channels}`);
    }
    const out = new Float32Array(width * height * 3);
    if (channels === 3) {
      for (let i = 0; i < out.length; i++) out[i] = samples[i] / scale;
    } else {
      // Defensive: libvips should always give 3 bands here; handle 1/2/4 bands anyway.
      const replicate = channels < 3;
      for (let p = 0; p < width * height; p++) {
        for (let c = 0; c < 3; c++) out[p * 3 + c] = samples[p * channels + (replicate ? 0 : c)] / scale;
      }
    }
    return { image: { width, height, data: out }, notices };
  } catch (err) {
    throw new Error(`${path} is not an image sharp can read: ${errorMessage(err)}`, { cause: err });
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Writes `image` as an 8-bit RGB PNG (values clamped to [0,1] and converted with
 * `toBytesLikeTorchvision`). The file appears atomically: the PNG is written to a temporary
 * file in the same directory, then linked (no overwrite) or renamed (`force`) into place.
 * Without `{ force: true }` an existing `path` is never replaced and an Error names it.
 */
export async function writePng(path: string, image: RgbImage, options: WritePngOptions = {}): Promise<void> {
  assertRgbImage(image, `image for ${path}`);
  await writePngBytes(path, { width: image.width, height: image.height, data: toBytesLikeTorchvision(image.data) }, options);
}

/**
 * As `writePng`, for pixels that are already 8-bit (HWC RGB bytes, e.g. a rounded result such as
 * the FFHQ alignment's): the same atomic, never-clobbering write, no float conversion.
 */
export async function writePngBytes(
  path: string,
  image: { width: number; height: number; data: Uint8Array },
  options: WritePngOptions = {},
): Promise<void> {
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(`image for ${path} is ${image.width}x${image.height}x3 but holds ${image.data.length} bytes`);
  }
  const force = options.force === true;
  if (!force && (await exists(path))) throw alreadyExists(path);

  const png = await sharp(image.data, {
    raw: { width: image.width, height: image.height, channels: 3 },
  })
    .png()
    .toBuffer();

  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fsp.writeFile(tmp, png, { flag: 'wx' });
  } catch (err) {
    throw new Error(`cannot write ${path}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    if (force) {
      await fsp.rename(tmp, path);
    } else {
      try {
        await fsp.link(tmp, path); // atomic and never clobbers: EEXIST if someone got there first
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') throw alreadyExists(path);
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
        // Filesystem without hard links: check then rename (a tiny race, but still atomic content).
        if (await exists(path)) throw alreadyExists(path);
        await fsp.rename(tmp, path);
      }
    }
  } catch (err) {
    if (err instanceof AlreadyExistsError) throw err;
    throw new Error(`cannot write ${path}: ${errorMessage(err)}`, { cause: err });
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Slicing, cropping, resizing

/**
 * Resizes with libvips (sharp `resize`, fit 'fill', so the aspect ratio may change), for display
 * baselines such as the nearest/bicubic upsamplings in a montage.
 *
 * Data travel through sharp as 16-bit samples (values clamped to [0,1], quantised to 1/65535):
 * sharp's raw float input is tagged as 16-bit RGB and is not usable as [0,1] floats.
 *
 * sharp's 'cubic' is libvips' Catmull-Rom spline. That is the same 1-D curve as the Keys kernel
 * with a = -0.5 that PULSE uses, but libvips' resampler (sample-grid alignment, edge extension,
 * box pre-shrink for large factors, upsampling path) is NOT PULSE's BicubicDownSample
 * (4 x factor taps, reflect padding, stride factor; see src/pulse/bicubic.ts). Never use this
 * where "downscales correctly" must match PULSE.
 */
export async function resizeImage(image: RgbImage, width: number, height: number, kernel: ResizeKernel): Promise<RgbImage> {
  assertRgbImage(image);
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) {
    throw new Error(`invalid resize target ${width}x${height}`);
  }
  const u16 = new Uint16Array(image.data.length);
  for (let i = 0; i < u16.length; i++) {
    const x = image.data[i];
    u16[i] = Math.round((x > 1 ? 1 : x > 0 ? x : 0) * 65535);
  }
  const { data, info } = await sharp(u16, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { kernel, fit: 'fill' })
    .toColourspace('rgb16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== 3) {
    throw new Error(`sharp resized to ${info.width}x${info.height}x${info.channels}, expected ${width}x${height}x3`);
  }
  const samples = new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
  const out = new Float32Array(width * height * 3);
  for (let i = 0; i < out.length; i++) out[i] = samples[i] / 65535;
  return { width, height, data: out };
}

/** Exact nearest-neighbour scaling in JS (pixel centres: src = floor((dst + 0.5) * src/dst)). */
function scaleNearest(image: RgbImage, width: number, height: number): RgbImage {
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(image.height - 1, Math.floor(((y + 0.5) * image.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(image.width - 1, Math.floor(((x + 0.5) * image.width) / width));
      const s = (sy * image.width + sx) * 3;
      const d = (y * width + x) * 3;
      out[d] = image.data[s];
      out[d + 1] = image.data[s + 1];
      out[d + 2] = image.data[s + 2];
    }
  }
  return { width, height, data: out };
}

// ---------------------------------------------------------------------------------------------
// Montage

/** Font size and label band height used by `montage` for a given tile height. */
export function montageLabelMetrics(tileHeight: number): { fontSize: number; bandHeight: number } {
  const fontSize = Math.max(10, Math.min(48, Math.round(tileHeight / 12)));
  return { fontSize, bandHeight: Math.ceil(fontSize * 1.6) };
}

/**
 * A horizontal strip: every image scaled by nearest neighbour (so low-resolution pixels stay
 * visible as blocks) to `options.height`, keeping its aspect ratio, with `gap` white columns
 * between tiles. With labels, a white band of `montageLabelMetrics(height).bandHeight` rows is
 * added below, the labels drawn into it as SVG text (sharp composite, librsvg). If text cannot
 * be rendered (the composite throws, or no glyph appears, e.g. no fonts installed), the strip
 * is returned without the band rather than failing. Tile pixels keep full float precision.
 */
export async function montage(images: RgbImage[], options: MontageOptions): Promise<RgbImage> {
  if (images.length === 0) throw new Error('montage needs at least one image');
  const height = options.height;
  const gap = options.gap ?? DEFAULT_GAP;
  if (!Number.isInteger(height) || height < 1) throw new Error(`montage height ${height} must be a positive integer`);
  if (!Number.isInteger(gap) || gap < 0) throw new Error(`montage gap ${gap} must be a non-negative integer`);
  images.forEach((im, i) => assertRgbImage(im, `montage image ${i}`));

  const tiles = images.map((im) => {
    const w = Math.max(1, Math.round((im.width * height) / im.height));
    return w === im.width && height === im.height ? im : scaleNearest(im, w, height);
  });
  const lefts: number[] = [];
  let width = 0;
  for (const [i, t] of tiles.entries()) {
    if (i > 0) width += gap;
    lefts.push(width);
    width += t.width;
  }

  const strip = new Float32Array(width * height * 3).fill(1);
  for (const [i, t] of tiles.entries()) {
    for (let y = 0; y < height; y++) {
      strip.set(t.data.subarray(y * t.width * 3, (y + 1) * t.width * 3), (y * width + lefts[i]) * 3);
    }
  }
  const stripImage: RgbImage = { width, height, data: strip };

  const labels = (options.labels ?? []).slice(0, tiles.length);
  if (!labels.some((l) => l !== undefined && l.trim() !== '')) return stripImage;

  const band = await renderLabelBand(
    labels,
    tiles.map((t) => t.width),
    lefts,
    width,
    montageLabelMetrics(height),
  ).catch(() => null);
  if (band === null) return stripImage;

  const out = new Float32Array(width * (height + band.rows) * 3);
  out.set(strip);
  out.set(band.data, strip.length);
  return { width, height: height + band.rows, data: out };
}

async function renderLabelBand(
  labels: string[],
  tileWidths: number[],
  lefts: number[],
  width: number,
  metrics: { fontSize: number; bandHeight: number },
): Promise<{ rows: number; data: Float32Array } | null> {
  const { fontSize, bandHeight } = metrics;
  const texts = labels
    .map((label, i) => {
      if (label === undefined || label.trim() === '') return '';
      // Shrink long labels to fit their tile (rough width estimate: 0.6 em per character).
      const fit = Math.floor((tileWidths[i] - 2) / (0.6 * label.length));
      const size = Math.max(6, Math.min(fontSize, fit));
      const x = lefts[i] + tileWidths[i] / 2;
      const y = bandHeight / 2 + size * 0.35;
      return `<text x="${x}" y="${y}" font-size="${size}" text-anchor="middle">${escapeXml(label)}</text>`;
    })
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${bandHeight}">` +
    `<g font-family="DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif" fill="#000">${texts}</g></svg>`;
  const { data, info } = await sharp({
    create: { width, height: bandHeight, channels: 3, background: { r: 255, g: 255, b: 255 } },
  })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== bandHeight || info.channels !== 3) return null;
  let inked = false;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    out[i] = data[i] / 255;
    if (data[i] !== 255) inked = true;
  }
  return inked ? { rows: bandHeight, data: out } : null;
}

// ---------------------------------------------------------------------------------------------

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class AlreadyExistsError extends Error {}

function alreadyExists(path: string): Error {
  return new AlreadyExistsError(`${path} already exists; not overwriting it (pass { force: true } to replace it)`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
