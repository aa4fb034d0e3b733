/**
 * A preprocessed dataset on disk: every image of a list cropped (src/data/crop.ts), resized to
 * S x S and stored as 8-bit RGB, so training decodes no JPEG twice.
 *
 * Two files per cache, in the cache folder (default `<repo>/.cache/datasets/`, gitignored):
 * - `faces-<S>px-<key>.u8`: all images back to back, uint8, N x S x S x 3 (NHWC, RGB), no header;
 * - `faces-<S>px-<key>.json`: the header (`DatasetCacheHeader`): count, size, crop, kernel, a
 *   hash of the source list, the source files in cache order, and the files that were skipped.
 *
 * The key hashes the sorted source list (each path with the sha256 of its bytes), the crop, the
 * size and the resize kernel, so a different list, crop, size or kernel, or an edited source
 * file, never reuses a stale cache. Contents, not modification times: a dataset copied afresh
 * (same bytes, new times) keeps its cache, and hashing is about a second per 50 MB of photos
 * where rebuilding an aligned cache takes half an hour. Images are stored in sorted path order, so the
 * same set of files gives the same cache whatever order it was listed in.
 *
 * Both files are written to temporaries and renamed into place, the data first and the header
 * last: a cache without its header is ignored, and an interrupted build leaves no usable-looking
 * half cache. To clear the cache, delete the folder (`rm -rf .cache/datasets`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResizeKernel } from '../io/image.js';
import { alignDatasetFace, FFHQ_ALIGN_VERSION } from '../align/dataset-face.js';
import { assertCropSpec, cropAndResizeBytes, describeCrop, type CropSpec, type RgbBytes } from './crop.js';
import type { FaceEntry } from './face-folder.js';

/** `<repo>/.cache/datasets` (`.cache/` is gitignored). */
export const DEFAULT_CACHE_DIR = fileURLToPath(new URL('../../.cache/datasets', import.meta.url));

export const DATASET_CACHE_FORMAT = 'pulse-ts/dataset-cache';
export const DATASET_CACHE_VERSION = 1;

/**
 * How each source image becomes a cached face: a crop box (or 'center') resized to S, or
 * 'ffhq' = the face nearest the centre found and aligned by the FFHQ protocol at S
 * (src/align/, docs/align.md); photos where no face is found are skipped and recorded.
 */
export type DatasetCrop = CropSpec | 'ffhq';

function describeDatasetCrop(crop: DatasetCrop): string {
  return crop === 'ffhq' ? `ffhq alignment v${FFHQ_ALIGN_VERSION}` : describeCrop(crop);
}

/** One source image as cached bytes, under `crop`. */
function renderSource(path: string, crop: DatasetCrop, size: number, kernel: ResizeKernel): Promise<RgbBytes> {
  return crop === 'ffhq' ? alignDatasetFace(path, size) : cropAndResizeBytes(path, crop, size, kernel);
}

export interface DatasetCacheOptions {
  /** The crop applied to every source image before resizing, or 'ffhq' (see DatasetCrop). */
  crop: DatasetCrop;
  /** Side S of the cached images (pixels). */
  size: number;
  /** sharp resize kernel (default 'lanczos3'). */
  kernel?: ResizeKernel;
  /** Folder holding cache files (default `DEFAULT_CACHE_DIR`); created when missing. */
  cacheDir?: string;
  /** Called after each source file, with the number processed so far (skipped ones included). */
  onProgress?: (done: number, total: number) => void;
  /** Where warnings about skipped files go (default `console.warn`). */
  warn?: (message: string) => void;
  /** Images decoded at once (default 2; sharp also uses its own thread pool). */
  concurrency?: number;
  /** Build again even if a valid cache with this key exists. */
  rebuild?: boolean;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface DatasetCacheHeader {
  format: typeof DATASET_CACHE_FORMAT;
  version: number;
  key: string;
  /** Images stored (source files minus skipped ones). */
  count: number;
  /** Side S. */
  size: number;
  channels: 3;
  dtype: 'uint8';
  layout: 'NHWC';
  crop: DatasetCrop;
  kernel: ResizeKernel;
  /** sha256 (hex) of the sorted source path list, one path per line. */
  sourceHash: string;
  /** Number of source files asked for. */
  sourceCount: number;
  /** File name (in the same folder) of the pixel data. */
  dataFile: string;
  /** Byte length of the pixel data: count * size * size * 3. */
  dataBytes: number;
  /** Source files of the stored images, in storage order (absolute paths). */
  files: string[];
  /** Source files that could not be decoded or cropped, with why. */
  skipped: SkippedFile[];
  createdAt: string;
  buildSeconds: number;
}

export interface DatasetCache {
  count: number;
  size: number;
  /** count x size x size x 3 bytes, NHWC RGB. */
  pixels: Uint8Array;
  /** Source file of each image, in storage order. */
  files: string[];
  header: DatasetCacheHeader;
  headerPath: string;
}

export interface BuildResult {
  headerPath: string;
  dataPath: string;
  header: DatasetCacheHeader;
  /** false when a valid cache with the same key was already there. */
  built: boolean;
}

type Source = string | FaceEntry;

/** Absolute, sorted, de-duplicated-checked source paths. */
function sortedSources(files: readonly Source[]): string[] {
  const paths = files.map((f) => resolve(typeof f === 'string' ? f : f.path));
  paths.sort();
  for (let i = 1; i < paths.length; i++) {
    if (paths[i] === paths[i - 1]) throw new Error(`dataset cache: ${paths[i]} is listed twice`);
  }
  return paths;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** sha256 of the sorted source path list (one path per line). */
export function sourceListHash(files: readonly Source[]): string {
  return sha256(sortedSources(files).join('\n'));
}

function checkOptions(options: DatasetCacheOptions): ResizeKernel {
  if (options.crop !== 'ffhq') assertCropSpec(options.crop);
  if (!Number.isInteger(options.size) || options.size < 1) throw new Error(`dataset cache: invalid size ${options.size}`);
  return options.kernel ?? 'lanczos3';
}

/**
 * The cache key of a list under some options: 16 hex digits of a sha256 over the format version,
 * the sorted source paths with the sha256 of each file's bytes (a missing file counts as such),
 * the crop, the size and the kernel.
 */
export async function datasetCacheKey(files: readonly Source[], options: Pick<DatasetCacheOptions, 'crop' | 'size' | 'kernel'>): Promise<string> {
  const kernel = checkOptions(options as DatasetCacheOptions);
  const paths = sortedSources(files);
  const stats = await mapLimited(paths, 8, async (p) => {
    const bytes = await fsp.readFile(p).catch(() => null);
    return bytes === null ? `${p}\tmissing` : `${p}\t${createHash('sha256').update(bytes).digest('hex')}`;
  });
  const crop =
    options.crop === 'center'
      ? 'center'
      : options.crop === 'ffhq'
        ? { ffhq: FFHQ_ALIGN_VERSION }
        : { left: options.crop.left, top: options.crop.top, size: options.crop.size };
  const description = JSON.stringify({ format: DATASET_CACHE_FORMAT, version: DATASET_CACHE_VERSION, crop, size: options.size, kernel });
  return sha256(`${description}\n${stats.join('\n')}`).slice(0, 16);
}

/** Where the cache of `files` under `options` lives (whether or not it exists yet). */
export async function datasetCachePaths(
  files: readonly Source[],
  options: Pick<DatasetCacheOptions, 'crop' | 'size' | 'kernel' | 'cacheDir'>,
): Promise<{ key: string; headerPath: string; dataPath: string }> {
  const key = await datasetCacheKey(files, options);
  const dir = resolve(options.cacheDir ?? DEFAULT_CACHE_DIR);
  const stem = `faces-${options.size}px-${key}`;
  return { key, headerPath: join(dir, `${stem}.json`), dataPath: join(dir, `${stem}.u8`) };
}

/**
 * Builds the cache of `files` (paths or `listFaces` entries) unless a valid one with the same key
 * exists (or `rebuild`). A file that fails to decode or crop is skipped with a warning naming it
 * and recorded in the header's `skipped`; the build goes on. Throws when the list is empty or
 * no file at all could be used.
 */
export async function buildDatasetCache(files: readonly Source[], options: DatasetCacheOptions): Promise<BuildResult> {
  const kernel = checkOptions(options);
  const paths = sortedSources(files);
  if (paths.length === 0) throw new Error('dataset cache: the source list is empty');
  const { key, headerPath, dataPath } = await datasetCachePaths(paths, options);

  if (options.rebuild !== true) {
    const existing = await readHeader(headerPath).catch(() => null);
    if (existing !== null && (await validData(existing, dataPath))) return { headerPath, dataPath, header: existing, built: false };
  }

  const warn = options.warn ?? ((m: string) => console.warn(m));
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 2));
  const size = options.size;
  const per = size * size * 3;
  const started = performance.now();
  await fsp.mkdir(dirname(headerPath), { recursive: true });

  const dataTmp = tempName(dataPath);
  const fh = await fsp.open(dataTmp, 'wx');
  const kept: string[] = [];
  const skipped: SkippedFile[] = [];
  try {
    // Decode a few files ahead, store them strictly in list order.
    const pending: (Promise<Uint8Array | Error> | undefined)[] = [];
    let launched = 0;
    const launch = (): void => {
      const i = launched++;
      pending[i] = renderSource(paths[i], options.crop, size, kernel).then(
        (r) => r.data,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
    };
    while (launched < Math.min(concurrency, paths.length)) launch();

    const chunkImages = Math.max(1, Math.floor((4 << 20) / per));
    let chunk = new Uint8Array(chunkImages * per);
    let inChunk = 0;
    for (let i = 0; i < paths.length; i++) {
      const result = await pending[i]!;
      pending[i] = undefined;
      if (launched < paths.length) launch();
      if (result instanceof Error) {
        const reason = result.message;
        skipped.push({ file: paths[i], reason });
        warn(`warning: skipping ${reason.includes(paths[i]) ? reason : `${paths[i]}: ${reason}`}`);
      } else {
        chunk.set(result, inChunk * per);
        inChunk++;
        kept.push(paths[i]);
        if (inChunk === chunkImages) {
          await fh.write(chunk, 0, inChunk * per);
          chunk = new Uint8Array(chunkImages * per);
          inChunk = 0;
        }
      }
      options.onProgress?.(i + 1, paths.length);
    }
    if (inChunk > 0) await fh.write(chunk, 0, inChunk * per);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await fsp.rm(dataTmp, { force: true });
    throw err;
  }
  await fh.close();

  if (kept.length === 0) {
    await fsp.rm(dataTmp, { force: true });
    throw new Error(
      `dataset cache: none of the ${paths.length} source files could be used (first: ${skipped[0]?.reason ?? 'unknown'}); crop ${describeDatasetCrop(options.crop)}`,
    );
  }

  const header: DatasetCacheHeader = {
    format: DATASET_CACHE_FORMAT,
    version: DATASET_CACHE_VERSION,
    key,
    count: kept.length,
    size,
    channels: 3,
    dtype: 'uint8',
    layout: 'NHWC',
    crop: options.crop === 'center' || options.crop === 'ffhq' ? options.crop : { left: options.crop.left, top: options.crop.top, size: options.crop.size },
    kernel,
    sourceHash: sourceListHash(paths),
    sourceCount: paths.length,
    dataFile: basename(dataPath),
    dataBytes: kept.length * per,
    files: kept,
    skipped,
    createdAt: new Date().toISOString(),
    buildSeconds: Math.round((performance.now() - started) / 10) / 100,
  };
  try {
    await fsp.rename(dataTmp, dataPath);
  } catch (err) {
    await fsp.rm(dataTmp, { force: true });
    throw err;
  }
  const headerTmp = tempName(headerPath);
  await fsp.writeFile(headerTmp, `${JSON.stringify(header, null, 1)}\n`, { flag: 'wx' });
  await fsp.rename(headerTmp, headerPath);
  return { headerPath, dataPath, header, built: true };
}

/** Loads a cache from its header file (`.json`; the `.u8` data file's path is accepted too). */
export async function loadDatasetCache(path: string): Promise<DatasetCache> {
  const headerPath = path.endsWith('.u8') ? path.slice(0, -3) + '.json' : path;
  const header = await readHeader(headerPath);
  const dataPath = join(dirname(headerPath), header.dataFile);
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(dataPath);
  } catch (err) {
    throw new Error(`dataset cache ${headerPath}: cannot read its data file ${dataPath}: ${(err as Error).message}`, { cause: err });
  }
  if (bytes.byteLength !== header.dataBytes) {
    throw new Error(`dataset cache ${dataPath} holds ${bytes.byteLength} bytes, its header says ${header.dataBytes}; delete it and rebuild`);
  }
  const pixels = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { count: header.count, size: header.size, pixels, files: header.files, header, headerPath };
}

/** `buildDatasetCache` (a no-op when the cache exists) followed by `loadDatasetCache`. */
export async function prepareDatasetCache(files: readonly Source[], options: DatasetCacheOptions): Promise<DatasetCache & { built: boolean }> {
  const result = await buildDatasetCache(files, options);
  return { ...(await loadDatasetCache(result.headerPath)), built: result.built };
}

// ---------------------------------------------------------------------------------------------

async function readHeader(headerPath: string): Promise<DatasetCacheHeader> {
  let text: string;
  try {
    text = await fsp.readFile(headerPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`dataset cache header ${headerPath}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`, { cause: err });
  }
  let h: DatasetCacheHeader;
  try {
    h = JSON.parse(text) as DatasetCacheHeader;
  } catch (err) {
    throw new Error(`dataset cache header ${headerPath} is not valid JSON; delete it and rebuild`, { cause: err });
  }
  if (h?.format !== DATASET_CACHE_FORMAT || h.version !== DATASET_CACHE_VERSION) {
    throw new Error(`${headerPath} is not a version ${DATASET_CACHE_VERSION} ${DATASET_CACHE_FORMAT} header`);
  }
  const per = h.size * h.size * 3;
  if (!Number.isInteger(h.count) || h.count < 1 || !Number.isInteger(h.size) || h.size < 1 || h.dataBytes !== h.count * per) {
    throw new Error(`dataset cache header ${headerPath} is inconsistent (count ${h.count}, size ${h.size}, dataBytes ${h.dataBytes})`);
  }
  if (!Array.isArray(h.files) || h.files.length !== h.count || typeof h.dataFile !== 'string' || basename(h.dataFile) !== h.dataFile) {
    throw new Error(`dataset cache header ${headerPath} is inconsistent (files or dataFile)`);
  }
  return h;
}

async function validData(header: DatasetCacheHeader, dataPath: string): Promise<boolean> {
  const s = await fsp.stat(dataPath).catch(() => null);
  return s !== null && s.isFile() && s.size === header.dataBytes && basename(dataPath) === header.dataFile;
}

function tempName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}
