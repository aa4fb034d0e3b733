/**
 * Benchmark data: a fixed set of high-resolution faces and their low-resolution versions, made
 * once and read by every method of `pulse benchmark` so that all of them see the same inputs.
 *
 * For each face of the source folder (LFW-style with manifest.csv, or a plain folder):
 * 1. HR: the crop (`lfw` = LFW_CROP, the 112x112 box of deep-funneled LFW that training and
 *    evaluation use; `center` = the largest centred square, for folders already aligned and
 *    square-framed), resized to `size` x `size` with libvips lanczos3 (src/data/crop.ts, as
 *    `pulse eval-model` and the experiments do), saved as an 8-bit PNG. Or a face found and
 *    aligned from its landmarks at `size` (src/align, `pulse align`): `ffhq` = the FFHQ
 *    alignment, `lfw-aligned` = the LFW_CROP framing (LFW_CROP_RULE) cut out of any photo, e.g.
 *    CelebA-HQ for a model trained on the LFW crop. `cropForConvention` picks the crop a model
 *    was trained in.
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
 *
 * Sources: a folder with an LFW-style manifest.csv (columns file, identity, split); a folder whose
 * manifest.csv has no split (as ../shared/datasets/celebahq: file, source, sha256, licence) is read
 * as the plain folder of its images/; any other folder as a plain folder.
 *
 * A face that cannot be read or aligned (corrupt file, no face found) is reported through
 * `onSkip`, listed in the manifest's `skipped`, and the others go on; only a set where every face
 * fails is an error.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { alignCentralFace, bytesToImage, faceRecord } from '../align/align-face.js';
import { ALIGN_DETECTION, LFW_DETECTION } from '../align/detect.js';
import { FFHQ_RULE, LFW_CROP_RULE } from '../align/quad.js';
import { type CropBox, LFW_CROP, cropAndResize, describeCrop } from '../data/crop.js';
import { type Split, listFaces } from '../data/face-folder.js';
import { type RealFaceConvention, conventionOf } from '../eval/evaluate-model.js';
import { type RgbImage, readImage, toBytesLikeTorchvision, writePng } from '../io/image.js';
import { BicubicDownsampler, checkFactor } from '../pulse/bicubic.js';
import { writeJsonAtomic } from '../util/files.js';

export const BENCH_MANIFEST = 'manifest.json';
export const BENCH_DATA_VERSION = 1;
/**
 * How HR faces are cut from the sources: `lfw` the LFW_CROP box (deep-funneled LFW only);
 * `center` the largest centred square (folders already aligned, e.g. CelebA-HQ at 1024 px as the
 * paper used it); `ffhq` the FFHQ alignment from landmarks; `lfw-aligned` the LFW_CROP framing
 * from landmarks (any photo).
 */
export type BenchCrop = 'lfw' | 'center' | 'ffhq' | 'lfw-aligned';
export const BENCH_CROPS: readonly BenchCrop[] = ['lfw', 'center', 'ffhq', 'lfw-aligned'];
export type SourceLayout = 'lfw' | 'folder';

/**
 * The crop that gives a model's training convention (src/eval/evaluate-model.ts conventionOf):
 * `ffhq` -> the FFHQ alignment; `lfw-crop` -> the LFW_CROP box itself for deep-funneled LFW
 * (LFW-style sources), its landmark-found framing (`lfw-aligned`) for any other photos.
 */
export function cropForConvention(convention: RealFaceConvention, layout: SourceLayout): BenchCrop {
  if (convention === 'ffhq') return 'ffhq';
  return layout === 'lfw' ? 'lfw' : 'lfw-aligned';
}

/**
 * The convention of a model for bench data: its recorded training data's (conventionOf, src/eval)
 * when it has one; a model without recorded training data (the official PyTorch weights, or a
 * `pulse convert` of them) is the published FFHQ model, aligned as FFHQ is.
 */
export function benchConventionOf(metadata: Record<string, unknown>): RealFaceConvention {
  return metadata.data === undefined ? 'ffhq' : conventionOf(metadata);
}

/**
 * Where a source folder's faces are: LFW-style when its manifest.csv has identity and split
 * columns; otherwise the plain folder `images/` when there is one (a dataset whose manifest only
 * describes its files, as ../shared/datasets/celebahq), else the folder itself.
 */
export function benchSourceLayout(dir: string): { layout: SourceLayout; imageDir: string } {
  const root = resolve(dir);
  const manifest = join(root, 'manifest.csv');
  if (existsSync(manifest)) {
    const header = (readFileSync(manifest, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '').split(',').map((h) => h.trim());
    if (header.includes('identity') && header.includes('split')) return { layout: 'lfw', imageDir: root };
  }
  const images = join(root, 'images');
  return { layout: 'folder', imageDir: existsSync(images) && statSync(images).isDirectory() ? images : root };
}

/** A source face that could not be used, and why. */
export interface SkippedFace {
  readonly source: string;
  readonly error: string;
}

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
  /** Crops `ffhq` and `lfw-aligned`: the face found (score, eyes, mouth, quad, landmarks; `pulse align`'s record). */
  readonly alignment?: Readonly<Record<string, unknown>>;
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
  /** Source faces left out (unreadable, no face found), in listing order. */
  readonly skipped?: readonly SkippedFace[];
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
  /** A face left out: the file and why (the run goes on). */
  readonly onSkip?: (skipped: SkippedFace) => void;
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
  const { layout, imageDir } = benchSourceLayout(srcDir);
  const split = options.split ?? (layout === 'lfw' ? 'dev' : 'all');
  const cropName = options.crop ?? (layout === 'lfw' ? 'lfw' : 'center');
  if (!BENCH_CROPS.includes(cropName)) throw new Error(`--crop ${String(cropName)} is not one of ${BENCH_CROPS.join(', ')}`);
  const crop = cropName === 'lfw' ? LFW_CROP : 'center';
  if (options.count !== undefined && (!Number.isInteger(options.count) || options.count < 1)) {
    throw new Error(`--count ${options.count} must be a positive integer`);
  }

  const force = options.force === true;
  if (!force && existsSync(out)) {
    const taken = readdirSync(out).filter((n) => n === BENCH_MANIFEST || n === 'hr' || /^lr-x\d+$/.test(n));
    if (taken.length > 0) throw new Error(`${out} already holds bench data (${taken.join(', ')}); pass --force to overwrite, or choose another --out`);
  }

  let entries = await listFaces(imageDir, { split });
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
  const skipped: SkippedFace[] = [];
  try {
    for (const [i, entry] of entries.entries()) {
      const id = basename(entry.path, extname(entry.path));
      let hr: RgbImage;
      let alignment: Record<string, unknown> | undefined;
      try {
        ({ hr, alignment } = await hrFace(entry.path, cropName, crop, size, layout));
      } catch (err) {
        const s: SkippedFace = { source: entry.path, error: err instanceof Error ? err.message : String(err) };
        skipped.push(s);
        options.onSkip?.(s);
        options.onFace?.(i + 1, entries.length, id);
        continue;
      }
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
        ...(alignment !== undefined ? { alignment } : {}),
      });
      options.onFace?.(i + 1, entries.length, id);
    }
  } finally {
    for (const d of downsamplers) d.dispose();
  }
  if (faces.length === 0) {
    const shown = skipped.slice(0, 3).map((k) => k.error).join('; ');
    throw new Error(`none of the ${entries.length} faces of ${srcDir} could be used (${shown}${skipped.length > 3 ? '; ...' : ''})`);
  }
  const manifest: BenchManifest = {
    version: BENCH_DATA_VERSION,
    tool: 'pulse bench-data',
    createdAt: new Date().toISOString(),
    source: { dir: srcDir, layout, split },
    crop: { name: cropName, box: cropName === 'lfw' ? { ...LFW_CROP } : null, description: describeBenchCrop(cropName) },
    resize:
      cropName === 'ffhq' || cropName === 'lfw-aligned'
        ? 'src/align: bilinear 4x supersampling of the quad, libvips lanczos3 to size x size, rounded to 8 bits'
        : 'libvips (sharp) lanczos3 of the crop to size x size, 8-bit',
    size,
    factors,
    downsampler: "PULSE BicubicDownSample (src/pulse/bicubic.ts): Keys cubic a = -0.5, 4 x factor taps, reflect padding, stride factor, on the saved HR's bytes / 255",
    rounding: 'PNG bytes = floor(clamp(x, 0, 1) * 255), as torchvision ToPILImage (src/io/image.ts writePng)',
    faces,
    skipped,
  };
  writeJsonAtomic(join(out, BENCH_MANIFEST), manifest, true);
  return manifest;
}

/** A crop's description for the manifest and reports. */
export function describeBenchCrop(crop: BenchCrop): string {
  if (crop === 'lfw') return describeCrop(LFW_CROP);
  if (crop === 'center') return 'center';
  const r = crop === 'ffhq' ? FFHQ_RULE : LFW_CROP_RULE;
  return `${crop} (landmarks, central face; half side max(${r.eyeScale} |eyes|, ${r.mouthScale} |eyes-mouth|), centre eyes + ${r.centreShift} eyes-mouth)`;
}

/** One source photo -> its HR face at `size` as saved (8-bit values / 255), and the alignment record for aligned crops. */
async function hrFace(
  path: string,
  cropName: BenchCrop,
  crop: CropBox | 'center',
  size: number,
  layout: SourceLayout,
): Promise<{ hr: RgbImage; alignment?: Record<string, unknown> }> {
  if (cropName === 'ffhq' || cropName === 'lfw-aligned') {
    const { image } = await readImage(path);
    // Deep-funneled LFW faces fill the frame: the detector needs the grey border first there.
    const detection = layout === 'lfw' ? LFW_DETECTION : ALIGN_DETECTION;
    const face = await alignCentralFace(image, { size, detection, rule: cropName === 'ffhq' ? FFHQ_RULE : LFW_CROP_RULE }, path);
    const { image: _drop, ...record } = faceRecord(face, basename(path));
    return { hr: bytesToImage(face.bytes, size), alignment: { rule: cropName === 'ffhq' ? 'ffhq' : 'lfw-crop', ...record } };
  }
  const resized = await cropAndResize(path, crop, size);
  // The HR as saved (8-bit), so the LR is a function of the HR file alone.
  const hrBytes = toBytesLikeTorchvision(resized.data);
  return { hr: { width: size, height: size, data: Float32Array.from(hrBytes, (b) => b / 255) } };
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
