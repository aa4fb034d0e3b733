/**
 * Loading a PULSE generator from any of the forms a user has:
 *  - a model directory in the project's format (`model.json` + `weights.bin`, see
 *    docs/model-format.md), as written by `pulse convert` and `pulse train`;
 *  - a directory of official PyTorch files (`synthesis.pt`, optional `mapping.pt`,
 *    optional `gaussian_fit.pt`), as the published PULSE weights come;
 *  - a single synthesis checkpoint `.pt` (siblings `mapping.pt`/`gaussian_fit.pt` used when present).
 * Every tensor is checked before the networks are built; nothing half-loaded is returned.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { StateDict } from '../io/state-dict.js';
import { loadTorchCheckpoint } from '../io/torch-checkpoint.js';
import { readModelDir } from '../io/model-format.js';
import { buildReleasingLeftovers } from '../backend/host-memory.js';
import type { StepSize } from '../backend/tensor-allocator.js';
import { type SynthesisConfig, largestMapFloats } from '../stylegan/config.js';
import {
  type LoadedModel,
  type ModelFiles,
  buildModel,
  gaussianFitFromStateDict,
  modelFilesFromContents,
} from './build-model.js';

export * from './build-model.js';

/** Reads the files of a model (any supported form) into host memory, without building it. */
export async function readModelFiles(path: string, extra: { gaussianFit?: string; mapping?: string } = {}): Promise<ModelFiles> {
  const p = resolve(path);
  if (!existsSync(p)) throw new Error(`model path ${p} does not exist; give a model directory (model.json) or a synthesis .pt checkpoint`);
  let files: ModelFiles;
  if (statSync(p).isDirectory() && existsSync(join(p, 'model.json'))) {
    files = modelFilesFromContents(await readModelDir(p), join(p, 'weights.bin'));
  } else {
    const dir = statSync(p).isDirectory() ? p : dirname(p);
    const synthPath = statSync(p).isDirectory() ? join(p, 'synthesis.pt') : p;
    if (!existsSync(synthPath)) {
      throw new Error(`${p} has neither model.json (project format) nor synthesis.pt (official PyTorch weights)`);
    }
    const mappingPath = extra.mapping ?? (existsSync(join(dir, 'mapping.pt')) ? join(dir, 'mapping.pt') : undefined);
    const fitPath = extra.gaussianFit ?? (existsSync(join(dir, 'gaussian_fit.pt')) ? join(dir, 'gaussian_fit.pt') : undefined);
    files = {
      synthesis: await loadTorchCheckpoint(synthPath),
      synthesisSource: synthPath,
      mapping: mappingPath ? await loadTorchCheckpoint(mappingPath) : null,
      mappingSource: mappingPath ?? null,
      gaussianFit: fitPath ? gaussianFitFromStateDict(await loadTorchCheckpoint(fitPath), fitPath) : null,
      metadata: {},
    };
  }
  if (extra.gaussianFit && files.synthesisConfig) {
    files = { ...files, gaussianFit: gaussianFitFromStateDict(await loadTorchCheckpoint(extra.gaussianFit), extra.gaussianFit) };
  }
  return files;
}

/**
 * What a search on the model at `path` will allocate per step, known before the backend starts
 * (it picks its allocator then: backend/tensor-allocator.ts): the solutions, and the largest map
 * from the model.json's config. A .pt checkpoint's config comes from its tensors, so it gives no
 * map size; nor does a model.json that cannot be read (loading it reports why).
 */
export function searchStepSize(path: string, solutionsPerStep: number): StepSize {
  try {
    const config = (JSON.parse(readFileSync(join(resolve(path), 'model.json'), 'utf8')) as { config?: { synthesis?: SynthesisConfig } }).config?.synthesis;
    if (config) return { solutionsPerStep, largestMapBytes: 4 * largestMapFloats(config) };
  } catch {
    // no model.json, or not readable: the load says so
  }
  return { solutionsPerStep };
}

/** Loads a model from any supported form (see the file comment). */
export async function loadModel(path: string, extra: { gaussianFit?: string; mapping?: string } = {}): Promise<LoadedModel> {
  return buildReleasingLeftovers(async () => buildModel(await readModelFiles(path, extra), resolve(path)));
}

/** Number of scalar parameters (for model cards and reports). */
export function countParameters(sd: StateDict): number {
  let n = 0;
  for (const t of sd.values()) n += t.data.length;
  return n;
}
