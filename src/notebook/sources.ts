/**
 * Where the notebooks find their inputs, read from the environment with documented defaults.
 * A variable that is set but names nothing usable is an error naming it (a typo never silently
 * falls back to something else); an unset one falls back to the default, or to null when the
 * default is absent too.
 *
 * | variable | what | default |
 * | --- | --- | --- |
 * | `PULSE_NOTEBOOK_FACES` | `lfw` (real LFW dev faces) or `generated` (faces the model draws: nobody) | `lfw` when a dataset is found, else `generated` |
 * | `PULSE_NOTEBOOK_LFW` | an LFW-style folder (manifest.csv + images/) | `../shared/datasets/lfw` beside the repository |
 * | `PULSE_FFHQ_MODEL` | the published 1024 px FFHQ weights (model dir or synthesis.pt) | `models/ffhq` |
 * | `PULSE_REPRO_FACES` | aligned square HR faces (FFHQ / CelebA-HQ style), centre-cropped | none: CelebA-HQ, else LFW dev faces, LFW crop |
 * | `PULSE_CELEBAHQ` | CelebA-HQ faces (src/benchmark/celebahq.ts) | `../shared/datasets/celebahq` beside the repository |
 * | `PULSE_NIQE_PARAMS` | BasicSR's NIQE pristine model (.npz or .json) | `../shared/metrics/niqe_pris_params.json` |
 *
 * And where a notebook writes: `notebookOutDir`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { BenchCrop } from '../benchmark/bench-data.js';
import { celebahqCrop, celebahqDir } from '../benchmark/celebahq.js';
import type { RealFaceConvention } from '../eval/evaluate-model.js';
import { repoRoot } from '../util/repo-root.js';

type Env = Readonly<Record<string, string | undefined>>;

function fromEnv(env: Env, name: string): string | null {
  const v = (env[name] ?? '').trim();
  return v === '' ? null : resolve(v);
}

function isDir(path: string): boolean {
  return existsSync(path) && statSync(path).isDirectory();
}

/** Where the notebooks' test faces come from. */
export type FaceMode = 'lfw' | 'generated' | 'auto';

/**
 * PULSE_NOTEBOOK_FACES: `generated` makes every notebook work on faces the model draws (nobody),
 * as the committed outputs do, so that no photo of a real person is stored in the notebooks;
 * `lfw` requires the dataset; unset, LFW when present.
 */
export function faceMode(env: Env = process.env): FaceMode {
  const raw = (env.PULSE_NOTEBOOK_FACES ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'auto') return 'auto';
  if (raw === 'lfw' || raw === 'generated') return raw;
  throw new Error(`PULSE_NOTEBOOK_FACES=${JSON.stringify(env.PULSE_NOTEBOOK_FACES)} is not understood; use lfw, generated, or leave it unset`);
}

/**
 * The LFW-style dataset (a folder with manifest.csv), or null when there is none or when
 * PULSE_NOTEBOOK_FACES=generated (then the notebooks use generated faces).
 */
export function lfwDir(env: Env = process.env, root: string = repoRoot()): string | null {
  const mode = faceMode(env);
  if (mode === 'generated') return null;
  const found = findLfw(env, root);
  if (found === null && mode === 'lfw') {
    throw new Error('PULSE_NOTEBOOK_FACES=lfw but no LFW-style dataset was found; set PULSE_NOTEBOOK_LFW to one, or unset PULSE_NOTEBOOK_FACES');
  }
  return found;
}

function findLfw(env: Env, root: string): string | null {
  const given = fromEnv(env, 'PULSE_NOTEBOOK_LFW');
  if (given !== null) {
    if (!existsSync(join(given, 'manifest.csv'))) {
      throw new Error(`PULSE_NOTEBOOK_LFW=${given} is not an LFW-style folder (manifest.csv + images/); unset it to use ../shared/datasets/lfw`);
    }
    return given;
  }
  const dir = join(root, '..', 'shared', 'datasets', 'lfw');
  return existsSync(join(dir, 'manifest.csv')) ? dir : null;
}

/** Whether `path` is a loadable model: a directory with model.json or synthesis.pt, or a .pt file. */
export function looksLikeModel(path: string): boolean {
  if (isDir(path)) return existsSync(join(path, 'model.json')) || existsSync(join(path, 'synthesis.pt'));
  return existsSync(path) && path.endsWith('.pt');
}

/** The published FFHQ weights: PULSE_FFHQ_MODEL, else models/ffhq, else null. */
export function ffhqModelPath(env: Env = process.env, root: string = repoRoot()): string | null {
  const given = fromEnv(env, 'PULSE_FFHQ_MODEL');
  if (given !== null) {
    if (!looksLikeModel(given)) {
      throw new Error(`PULSE_FFHQ_MODEL=${given} is neither a model directory (model.json or synthesis.pt) nor a synthesis .pt file`);
    }
    return given;
  }
  const dir = join(root, 'models', 'ffhq');
  return looksLikeModel(dir) ? dir : null;
}

/** Where the HR faces of a benchmark come from, and how they are cropped. */
export interface FaceSource {
  readonly dir: string;
  readonly crop: BenchCrop;
  readonly split: 'dev' | 'all';
  /** For reports. */
  readonly description: string;
}

/**
 * Aligned HR faces (PULSE_REPRO_FACES, centre crop), else CelebA-HQ (PULSE_CELEBAHQ or ../shared;
 * as it is for a 1024 px model, aligned to `model`'s convention otherwise), else LFW dev faces
 * (LFW crop), else null (no dataset, or PULSE_NOTEBOOK_FACES=generated: the caller generates
 * faces, `generatedFaces`).
 */
export function reproFaces(
  env: Env = process.env,
  root: string = repoRoot(),
  model?: { readonly resolution: number; readonly convention: RealFaceConvention },
): FaceSource | null {
  const given = fromEnv(env, 'PULSE_REPRO_FACES');
  if (given !== null) {
    if (!isDir(given)) throw new Error(`PULSE_REPRO_FACES=${given} is not a folder of aligned face images`);
    return { dir: given, crop: 'center', split: 'all', description: `aligned faces from ${given} (centre crop)` };
  }
  const celebahq = faceMode(env) === 'generated' ? null : celebahqDir(env, root);
  if (celebahq !== null) {
    const crop = model ? celebahqCrop(model.resolution, model.convention) : 'center';
    const how = crop === 'center' ? 'as they are (1024 px, CelebA-HQ alignment)' : `aligned to the model's convention (${crop})`;
    return { dir: celebahq, crop, split: 'all', description: `CelebA-HQ faces from ${celebahq}, ${how}` };
  }
  const lfw = lfwDir(env, root);
  if (lfw === null) return null;
  return { dir: lfw, crop: 'lfw', split: 'dev', description: `LFW dev faces from ${lfw} (LFW_CROP, 112 px box)` };
}

/** NIQE's pristine model: PULSE_NIQE_PARAMS, else the shared copy, else null (fetchNiqeParams downloads it). */
export function niqeParamsPath(env: Env = process.env, root: string = repoRoot()): string | null {
  const given = fromEnv(env, 'PULSE_NIQE_PARAMS');
  if (given !== null) {
    if (!existsSync(given)) throw new Error(`PULSE_NIQE_PARAMS=${given} does not exist`);
    return given;
  }
  for (const name of ['niqe_pris_params.json', 'niqe_pris_params.npz']) {
    const p = join(root, '..', 'shared', 'metrics', name);
    if (existsSync(p)) return p;
  }
  return null;
}

/** "<model folder name>-<8 hex digits of its absolute path>": names a model's results folder. */
export function modelTag(modelPath: string): string {
  const abs = resolve(modelPath);
  const name = basename(abs).replace(/\.pt$/, '').replace(/[^A-Za-z0-9._-]/g, '_') || 'model';
  return `${name}-${createHash('sha256').update(abs).digest('hex').slice(0, 8)}`;
}

/**
 * Where a notebook keeps its results. Quick mode: a fresh temporary folder (CI leaves nothing in
 * the checkout). Full mode: `runs/notebooks/<name>/<modelTag>` in the repository (runs/ is
 * git-ignored), the same on every run, so a re-run resumes and results of different models never
 * mix (the experiment and benchmark run ids do not include the model's weights).
 */
export function notebookOutDir(name: string, modelPath: string, quick: boolean, root: string = repoRoot()): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new Error(`notebook output name "${name}" must be folder-safe`);
  if (quick) return mkdtempSync(join(tmpdir(), `pulse-${name}-`));
  const dir = join(root, 'runs', 'notebooks', name, modelTag(modelPath));
  mkdirSync(dir, { recursive: true });
  return dir;
}
