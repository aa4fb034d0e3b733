/**
 * The runs of an experiment: images x seeds x grid points, in a fixed order (images in listing
 * order, then seeds as listed, then grid points with the config's keys sorted, the last key
 * varying fastest), each with an id that hashes what the run computes (image, seed, factor and
 * the options the config sets), so reordering the config never renames a run.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { listFaces } from '../data/face-folder.js';
import { type PulseOptions, resolveOptions } from '../pulse/options.js';
import { type CropName, type ExperimentConfig, type OptionValues, canonicalJson } from './config.js';

export interface ImageSpec {
  /** Human-readable id: the LFW file name, or the path as written in the config. */
  readonly id: string;
  /** Absolute path. */
  readonly path: string;
  /** lfw: cropped and resized to the model's side, then downscaled; file: read as given (HR or LR). */
  readonly source: 'lfw' | 'file';
  readonly crop?: CropName;
}

export interface RunSpec {
  /** Position in the whole grid (0-based). */
  readonly index: number;
  /** Stable id (16 hex digits). */
  readonly id: string;
  readonly image: ImageSpec;
  readonly seed: number;
  /** This run's grid values (grid keys only). */
  readonly point: Readonly<Record<string, unknown>>;
  /** canonicalJson(point): groups runs by grid point. */
  readonly pointKey: string;
  /** Full options of the run (defaults, base, point, seed). */
  readonly options: PulseOptions;
}

/** The images of an experiment: the LFW faces first (by file name), then the files as listed. */
export async function listImages(config: ExperimentConfig): Promise<ImageSpec[]> {
  const images: ImageSpec[] = [];
  const l = config.inputs.lfwSplit;
  if (l) {
    const faces = await listFaces(l.dir, { split: l.split });
    if (faces.length < l.count) {
      throw new Error(`${config.source}: inputs.lfwSplit: ${l.dir} has ${faces.length} '${l.split}' faces; count asks for ${l.count}`);
    }
    for (const f of faces.slice(0, l.count)) images.push({ id: basename(f.path), path: f.path, source: 'lfw', crop: l.crop });
  }
  for (const f of config.inputs.files ?? []) images.push({ id: f.given, path: f.path, source: 'file' });
  return images;
}

/** The grid's points: the cartesian product of its axes (keys sorted, last varying fastest); [{}] for an empty grid. */
export function gridPoints(config: Pick<ExperimentConfig, 'grid' | 'gridKeys'>): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const key of config.gridKeys) {
    const next: Record<string, unknown>[] = [];
    for (const p of points) for (const v of config.grid[key]) next.push({ ...p, [key]: v });
    points = next;
  }
  return points;
}

/**
 * Hash of everything a run's outcome depends on that the config sets, and (when given) the
 * fingerprint of the model's weights (src/model/fingerprint.ts).
 */
export function runId(image: ImageSpec, seed: number, factor: number, explicit: OptionValues, model?: string): string {
  const key = canonicalJson({
    v: 1,
    image: image.id,
    source: image.source,
    crop: image.crop ?? null,
    factor,
    seed,
    options: explicit,
    ...(model ? { model } : {}),
  });
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Every run of the experiment, in order. */
export function expandGrid(config: ExperimentConfig, images: readonly ImageSpec[], modelKey?: string): RunSpec[] {
  const points = gridPoints(config);
  const runs: RunSpec[] = [];
  for (const image of images) {
    for (const seed of config.seeds) {
      for (const point of points) {
        const explicit = { ...config.base, ...point } as OptionValues;
        runs.push({
          index: runs.length,
          id: runId(image, seed, config.inputs.factor, explicit, modelKey),
          image,
          seed,
          point,
          pointKey: canonicalJson(point),
          options: resolveOptions({ ...explicit, seed }),
        });
      }
    }
  }
  const seen = new Map<string, RunSpec>();
  for (const r of runs) {
    const twin = seen.get(r.id);
    if (twin) throw new Error(`${config.source}: runs ${twin.index} and ${r.index} are the same run (image ${r.image.id}, seed ${r.seed}); an image is listed twice`);
    seen.set(r.id, r);
  }
  return runs;
}

/** "k=v k=v" for logs and progress. */
export function pointLabel(point: Readonly<Record<string, unknown>>): string {
  const parts = Object.entries(point).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return parts.length ? parts.join(' ') : '(base)';
}
