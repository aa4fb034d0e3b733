/**
 * Loading a PULSE generator from any of the forms a user has:
 *  - a model directory in the project's format (`model.json` + `weights.bin`, see
 *    docs/model-format.md), as written by `pulse convert` and `pulse train`;
 *  - a directory of official PyTorch files (`synthesis.pt`, optional `mapping.pt`,
 *    optional `gaussian_fit.pt`), as the published PULSE weights come;
 *  - a single synthesis checkpoint `.pt` (siblings `mapping.pt`/`gaussian_fit.pt` used when present).
 * Every tensor is checked before the networks are built; nothing half-loaded is returned.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { StateDict } from '../io/state-dict.js';
import { loadTorchCheckpoint } from '../io/torch-checkpoint.js';
import { readModelDir } from '../io/model-format.js';
import { Synthesis } from '../stylegan/synthesis.js';
import { Mapping } from '../stylegan/mapping.js';
import { type MappingConfig, type SynthesisConfig, DEFAULT_MAPPING_CONFIG } from '../stylegan/config.js';
import type { GaussianFit, PulseGenerator } from '../pulse/generator.js';

/** The `config` object stored in model.json. */
export interface ModelConfig {
  readonly synthesis: SynthesisConfig;
  readonly mapping: MappingConfig | null;
  readonly hasGaussianFit: boolean;
}

export interface LoadedModel extends PulseGenerator {
  readonly mapping: Mapping | null;
  /** Where it came from, for reports. */
  readonly source: string;
  readonly metadata: Record<string, unknown>;
  dispose(): void;
}

export interface ModelFiles {
  readonly synthesis: StateDict;
  readonly synthesisSource: string;
  readonly mapping: StateDict | null;
  readonly mappingSource: string | null;
  readonly gaussianFit: GaussianFit | null;
  readonly metadata: Record<string, unknown>;
  readonly synthesisConfig?: SynthesisConfig;
  readonly mappingConfig?: MappingConfig;
}

/** Splits 'prefix.name' tensors of a model directory into per-network state dicts. */
function byPrefix(tensors: StateDict, prefix: string): StateDict {
  const out: StateDict = new Map();
  for (const [k, v] of tensors) if (k.startsWith(prefix)) out.set(k.slice(prefix.length), v);
  return out;
}

export function gaussianFitFromStateDict(sd: StateDict, source: string): GaussianFit {
  const mean = sd.get('mean');
  const std = sd.get('std');
  if (!mean || !std) {
    throw new Error(`${source} is not a Gaussian fit: expected tensors 'mean' and 'std', found ${[...sd.keys()].join(', ') || 'none'}`);
  }
  if (mean.data.length !== std.data.length) {
    throw new Error(`${source}: 'mean' has ${mean.data.length} values but 'std' has ${std.data.length}`);
  }
  return { mean: mean.data, std: std.data };
}

/** Reads the files of a model (any supported form) into host memory, without building it. */
export async function readModelFiles(path: string, extra: { gaussianFit?: string; mapping?: string } = {}): Promise<ModelFiles> {
  const p = resolve(path);
  if (!existsSync(p)) throw new Error(`model path ${p} does not exist; give a model directory (model.json) or a synthesis .pt checkpoint`);
  let files: ModelFiles;
  if (statSync(p).isDirectory() && existsSync(join(p, 'model.json'))) {
    const { config, metadata, tensors } = await readModelDir(p);
    const cfg = config as unknown as ModelConfig;
    const fitSd = byPrefix(tensors, 'gaussian_fit.');
    const mappingSd = byPrefix(tensors, 'mapping.');
    files = {
      synthesis: byPrefix(tensors, 'synthesis.'),
      synthesisSource: join(p, 'weights.bin'),
      mapping: mappingSd.size > 0 ? mappingSd : null,
      mappingSource: mappingSd.size > 0 ? join(p, 'weights.bin') : null,
      gaussianFit: fitSd.size > 0 ? gaussianFitFromStateDict(fitSd, join(p, 'weights.bin')) : null,
      metadata: metadata ?? {},
      synthesisConfig: cfg.synthesis,
      mappingConfig: cfg.mapping ?? undefined,
    };
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

/** Builds networks from files; throws (allocating nothing) when a tensor is missing or mis-shaped. */
export function buildModel(files: ModelFiles, source: string): LoadedModel {
  if (!files.gaussianFit) {
    throw new Error(
      `${source} has no Gaussian fit of the mapping network, which PULSE needs; make one with ` +
        '`pulse fit-gaussian --model <model> --out gaussian_fit.pt` (needs mapping.pt) and pass it with --gaussian-fit',
    );
  }
  const synthesis = Synthesis.fromStateDict(files.synthesis, files.synthesisSource, files.synthesisConfig);
  let mapping: Mapping | null = null;
  try {
    if (files.mapping) mapping = Mapping.fromStateDict(files.mapping, files.mappingSource!, files.mappingConfig ?? DEFAULT_MAPPING_CONFIG);
  } catch (err) {
    synthesis.dispose();
    throw err;
  }
  const fit = files.gaussianFit;
  if (fit.mean.length !== synthesis.config.dlatentSize) {
    synthesis.dispose();
    mapping?.dispose();
    throw new Error(`Gaussian fit has ${fit.mean.length} dimensions; the generator's latent has ${synthesis.config.dlatentSize}`);
  }
  return {
    synthesis,
    mapping,
    gaussianFit: fit,
    source,
    metadata: files.metadata,
    dispose() {
      synthesis.dispose();
      mapping?.dispose();
    },
  };
}

/** Loads a model from any supported form (see the file comment). */
export async function loadModel(path: string, extra: { gaussianFit?: string; mapping?: string } = {}): Promise<LoadedModel> {
  const files = await readModelFiles(path, extra);
  return buildModel(files, resolve(path));
}

/** Number of scalar parameters (for model cards and reports). */
export function countParameters(sd: StateDict): number {
  let n = 0;
  for (const t of sd.values()) n += t.data.length;
  return n;
}
