/**
 * Benchmark data: a fixed set of high-resolution faces and their low-resolution versions, made
 * once and read by every method of `pulse benchmark` so that all of them see the same inputs.
 *
 * For each face of the source folder (LFW-style with manifest.csv, or a plain folder):
 * 1. HR: the crop (`lfw` = LFW_CROP, the 112x112 box of deep-funneled LFW that training and
 *    evaluation use; `center` = the largest centred square, for folders already aligned and
 *    square-framed), resized to `size` x `size` with libvips lanczos3 (src/data/crop.ts, as
 *    `pulse eval-model` and the experiments do), saved as an 8-bit PNG.
 * 2. LR, per factor: the HR as saved (its bytes / 255) downscaled with PULSE's own
 *    BicubicDownsampler (src/pulse/bicubic.ts: Keys a = -0.5, 4 x factor taps, reflect padding,
 *    stride factor: the operator that defines "downscales correctly"), saved as an 8-bit PNG with
 *    torchvision ToPILImage rounding, floor(clamp(x, 0, 1) * 255) (src/io/image.ts writePng), as
 *    the official PULSE code saves its inputs.
 * 3. manifest.json, written last: sources, sizes, factors, crop, and the sha256 of every file
 *    written (checked again when the benchmark reads them).
 *
 * Layout of `out`: `hr/<id>.png`, `lr-x<factor>/<id>.png`, `manifest.json`. `<id>` is the source
 * file name without its extension. Nothing is overwritten without `force`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type CropBox, LFW_CROP, cropAndResize, describeCrop } from '../data/crop.js';
import { type Split, listFaces } from '../data/face-folder.js';
import { type RgbImage, readImage, toBytesLikeTorchvision, writePng } from '../io/image.js';
import { BicubicDownsampler, checkFactor } from '../pulse/bicubic.js';
import { writeJsonAtomic } from '../util/files.js';

export const BENCH_MANIFEST = 'manifest.json';
export const BENCH_DATA_VERSION = 1;
export type BenchCrop = 'lfw' | 'center';

export interface BenchFile {
  /** Path relative to the bench-data folder. */
  readonly file: string;
  readonly width: number;
  readonly height: number;
  readonly sha256: string;
}

export interface BenchFace {
  /** Source file name without extension (unique in a manifest). */
  readonly id: string;
  /** Absolute path of the source image. */
  readonly source: string;
  readonly sourceSha256: string;
  /** The person (LFW-style sources). */
  readonly identity?: string;
  readonly hr: BenchFile;
  /** Per factor (the key is the factor as a decimal string). */
  readonly lr: Readonly<Record<string, BenchFile>>;
}

export interface BenchManifest {
  readonly version: number;
  readonly tool: string;
  readonly createdAt: string;
  readonly source: { readonly dir: string; readonly layout: 'lfw' | 'folder'; readonly split: Split | 'all' };
  readonly crop: { readonly name: BenchCrop; readonly box: CropBox | null; readonly description: string };
  /** How the crop was resized to `size`. */
  readonly resize: string;
  readonly size: number;
  readonly factors: readonly number[];
  readonly downsampler: string;
  readonly rounding: string;
  readonly faces: readonly BenchFace[];
}

export interface MakeBenchDataOptions {
  /** Folder of aligned HR faces: LFW-style (manifest.csv) or plain. */
  readonly source: string;
  /** HR side (the generator's resolution). */
  readonly size: number;
  /** Downscaling factors (powers of two, each leaving at least 2 px). */
  readonly factors: readonly number[];
  readonly out: string;
  /** Split of an LFW-style folder (default 'dev'; plain folders: 'all'). */
  readonly split?: Split | 'all';
  /** Default: 'lfw' for LFW-style folders, 'center' for plain ones. */
  readonly crop?: BenchCrop;
  /** The first `count` faces (in listing order); default all. */
  readonly count?: number;
  readonly force?: boolean;
  readonly onFace?: (done: number, total: number, id: string) => void;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Checks the factors against an HR side; returns them sorted, without duplicates. */
export function checkFactors(size: number, factors: readonly number[]): number[] {
  if (!Number.isInteger(size) || size < 4) throw new Error(`--size ${size} must be an integer >= 4`);
  if (factors.length === 0) throw new Error('give at least one factor (e.g. --factors 8)');
  for (const f of factors) {
    checkFactor(f);
    if (f < 2) throw new Error(`factor ${f} does not reduce the image; factors are powers of two >= 2`);
    if (size % f !== 0 || size / f < 2) {
      throw new Error(`factor ${f} does not fit size ${size}: the LR side ${size}/${f} must be an integer >= 2`);
    }
  }
  return [...new Set(factors)].sort((a, b) => a - b);
}

export function lrDirName(factor: number): string {
  return `lr-x${factor}`;
}

/** Makes a bench-data folder (see the module comment); returns its manifest. */
export async function makeBenchData(options: MakeBenchDataOptions): Promise<BenchManifest> {
  const factors = checkFactors(options.size, options.factors);
  const size = options.size;
  const srcDir = resolve(options.source);
  const out = resolve(options.out);
  const layout: 'lfw' | 'folder' = existsSync(join(srcDir, 'manifest.csv')) ? 'lfw' : 'folder';
  const split = options.split ?? (layout === 'lfw' ? 'dev' : 'all');
  const cropName = options.crop ?? (layout === 'lfw' ? 'lfw' : 'center');
  if (cropName !== 'lfw' && cropName !== 'center') throw new Error(`--crop ${String(cropName)} is not lfw or center`);
  const crop = cropName === 'lfw' ? LFW_CROP : 'center';
  if (options.count !== undefined && (!Number.isInteger(options.count) || options.count < 1)) {
    throw new Error(`--count ${options.count} must be a positive integer`);
  }

  const force = options.force === true;
  if (!force && existsSync(out)) {
    const taken = readdirSync(out).filter((n) => n === BENCH_MANIFEST || n === 'hr' || /^lr-x\d+$/.test(n));
    if (taken.length > 0) throw new Error(`${out} already holds bench data (${taken.join(', ')}); pass --force to overwrite, or choose another --out`);
  }

  let entries = await listFaces(srcDir, { split });
  if (options.count !== undefined) {
    if (entries.length < options.count) throw new Error(`${srcDir} has ${entries.length} faces (split ${split}); --count asks for ${options.count}`);
    entries = entries.slice(0, options.count);
  }
  const ids = new Map<string, string>();
  for (const e of entries) {
    const id = basename(e.path, extname(e.path));
    const twin = ids.get(id);
    if (twin) throw new Error(`${twin} and ${e.path} have the same name ${id}; bench data names faces by file name`);
    ids.set(id, e.path);
  }

  mkdirSync(join(out, 'hr'), { recursive: true });
  for (const f of factors) mkdirSync(join(out, lrDirName(f)), { recursive: true });
  const downsamplers = factors.map((f) => new BicubicDownsampler(f));
  const faces: BenchFace[] = [];
  try {
    for (const [i, entry] of entries.entries()) {
      const id = basename(entry.path, extname(entry.path));
      const resized = await cropAndResize(entry.path, crop, size);
      // The HR as saved (8-bit), so the LR is a function of the HR file alone.
      const hrBytes = toBytesLikeTorchvision(resized.data);
      const hr: RgbImage = { width: size, height: size, data: Float32Array.from(hrBytes, (b) => b / 255) };
      const hrPath = join(out, 'hr', `${id}.png`);
      await writePng(hrPath, hr, { force });
      const lr: Record<string, BenchFile> = {};
      for (const [k, f] of factors.entries()) {
        const low = size / f;
        const t = tf.tidy(() => downsamplers[k].apply(tf.tensor4d(hr.data, [1, size, size, 3])));
        const data = (await t.data()) as Float32Array;
        t.dispose();
        const path = join(out, lrDirName(f), `${id}.png`);
        await writePng(path, { width: low, height: low, data }, { force });
        lr[String(f)] = { file: relative(out, path), width: low, height: low, sha256: sha256File(path) };
      }
      faces.push({
        id,
        source: entry.path,
        sourceSha256: sha256File(entry.path),
        ...(entry.identity !== undefined ? { identity: entry.identity } : {}),
        hr: { file: relative(out, hrPath), width: size, height: size, sha256: sha256File(hrPath) },
        lr,
      });
      options.onFace?.(i + 1, entries.length, id);
    }
  } finally {
    for (const d of downsamplers) d.dispose();
  }
  const manifest: BenchManifest = {
    version: BENCH_DATA_VERSION,
    tool: 'pulse bench-data',
    createdAt: new Date().toISOString(),
    source: { dir: srcDir, layout, split },
    crop: { name: cropName, box: crop === 'center' ? null : { ...crop }, description: describeCrop(crop) },
    resize: 'libvips (sharp) lanczos3 of the crop to size x size, 8-bit',
    size,
    factors,
    downsampler: "PULSE BicubicDownSample (src/pulse/bicubic.ts): Keys cubic a = -0.5, 4 x factor taps, reflect padding, stride factor, on the saved HR's bytes / 255",
    rounding: 'PNG bytes = floor(clamp(x, 0, 1) * 255), as torchvision ToPILImage (src/io/image.ts writePng)',
    faces,
  };
  writeJsonAtomic(join(out, BENCH_MANIFEST), manifest, true);
  return manifest;
}

/** Reads and checks a bench-data manifest. */
export function readBenchManifest(dir: string): BenchManifest {
  const path = join(resolve(dir), BENCH_MANIFEST);
  if (!existsSync(path)) throw new Error(`${path} does not exist; make bench data with \`pulse bench-data <faces> --size S --factors 8 --out ${dir}\``);
  let m: BenchManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as BenchManifest;
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (m.version !== BENCH_DATA_VERSION || !Array.isArray(m.faces) || !Array.isArray(m.factors) || !Number.isInteger(m.size)) {
    throw new Error(`${path} is not a bench-data manifest of version ${BENCH_DATA_VERSION}`);
  }
  return m;
}

/** Reads one file of the bench data as float RGB (bytes / 255), checking its sha256 and size. */
export async function readBenchImage(dir: string, file: BenchFile): Promise<{ image: RgbImage; bytes: Uint8Array }> {
  const path = join(resolve(dir), file.file);
  const got = sha256File(path);
  if (got !== file.sha256) throw new Error(`${path} has sha256 ${got}, but the manifest says ${file.sha256}; the bench data changed since it was made`);
  const { image } = await readImage(path);
  if (image.width !== file.width || image.height !== file.height) {
    throw new Error(`${path} is ${image.width}x${image.height}; the manifest says ${file.width}x${file.height}`);
  }
  return { image, bytes: Uint8Array.from(image.data, (v) => Math.round(v * 255)) };
}

/** Checks every file's hash; returns the paths that differ or are missing. */
export function verifyBenchData(dir: string, manifest: BenchManifest = readBenchManifest(dir)): string[] {
  const bad: string[] = [];
  for (const face of manifest.faces) {
    for (const f of [face.hr, ...Object.values(face.lr)]) {
      const path = join(resolve(dir), f.file);
      if (!existsSync(path) || sha256File(path) !== f.sha256) bad.push(path);
    }
  }
  return bad;
}
