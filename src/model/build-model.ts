/**
 * A PULSE generator built from tensors already in memory, with no file system: the networks from
 * state dicts (checked tensor by tensor), and the split of a model directory's tensors
 * ('synthesis.', 'mapping.', 'gaussian_fit.' prefixes) into those state dicts. src/model/model.ts
 * reads files in Node and calls this; the web page fetches model.json + weights.bin and calls it too.
 */
import type { ModelContents } from '../io/model-contents.js';
import type { StateDict } from '../io/state-dict.js';
import { Synthesis } from '../stylegan/synthesis.js';
import { Mapping } from '../stylegan/mapping.js';
import { type MappingConfig, type SynthesisConfig, DEFAULT_MAPPING_CONFIG } from '../stylegan/config.js';
import type { GaussianFit, PulseGenerator } from '../pulse/generator-interface.js';

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

/**
 * The ModelFiles of a model directory's contents (model.json + weights.bin); `weightsSource`
 * names weights.bin in messages.
 */
export function modelFilesFromContents(contents: ModelContents, weightsSource: string): ModelFiles {
  const { config, metadata, tensors } = contents;
  const cfg = config as unknown as ModelConfig;
  const fitSd = byPrefix(tensors, 'gaussian_fit.');
  const mappingSd = byPrefix(tensors, 'mapping.');
  return {
    synthesis: byPrefix(tensors, 'synthesis.'),
    synthesisSource: weightsSource,
    mapping: mappingSd.size > 0 ? mappingSd : null,
    mappingSource: mappingSd.size > 0 ? weightsSource : null,
    gaussianFit: fitSd.size > 0 ? gaussianFitFromStateDict(fitSd, weightsSource) : null,
    metadata: metadata ?? {},
    synthesisConfig: cfg.synthesis,
    mappingConfig: cfg.mapping ?? undefined,
  };
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
