/**
 * Turns a training run into a model directory that `pulse upsample` loads: the EMA
 * generator's synthesis and mapping networks plus the Gaussian fit PULSE needs, with the
 * training facts in the metadata (for the model card).
 */
import { writeModelDir } from '../io/model-format.js';
import type { StateDict } from '../io/state-dict.js';
import { fitGaussian } from '../pulse/gaussian-fit.js';
import { countParameters, type ModelConfig } from '../model/model.js';
import { DEFAULT_MAPPING_CONFIG } from '../stylegan/config.js';
import type { Trainer } from './trainer.js';
import { grownAtImages, growthStage } from './growing.js';

export interface ExportOptions {
  /** Samples for the Gaussian fit (the official code: 1,000,000). */
  readonly fitSamples: number;
  readonly force?: boolean;
  readonly metadata?: Record<string, unknown>;
  readonly onFitProgress?: (done: number, total: number) => void;
}

export async function exportModel(trainer: Trainer, outDir: string, options: ExportOptions): Promise<Record<string, unknown>> {
  // A growing run's full-resolution layers are untrained until its last block has faded in.
  const lod = trainer.levelOfDetail();
  if (lod > 0) {
    const c = trainer.config;
    const side = growthStage(c.resolution, lod).side;
    throw new Error(
      `the run is still growing (level of detail ${lod.toFixed(3)} after ${trainer.state.images} images, training at ${side} px); its ${c.resolution} px output is not trained yet. Train on to ${grownAtImages(c)} images first`,
    );
  }
  const synthesis = await trainer.gEma.synthesis.toStateDict();
  const mapping = await trainer.gEma.mapping.toStateDict();
  const fit = await fitGaussian(trainer.gEma.mapping, { samples: options.fitSamples, batchSize: 10_000, seed: 0, onProgress: options.onFitProgress });
  const tensors: StateDict = new Map();
  for (const [k, v] of synthesis) tensors.set(`synthesis.${k}`, v);
  for (const [k, v] of mapping) tensors.set(`mapping.${k}`, v);
  tensors.set('gaussian_fit.mean', { shape: [fit.mean.length], data: fit.mean });
  tensors.set('gaussian_fit.std', { shape: [fit.std.length], data: fit.std });
  const config: ModelConfig = { synthesis: trainer.gEma.synthesis.config, mapping: DEFAULT_MAPPING_CONFIG, hasGaussianFit: true };
  const metadata = {
    ...options.metadata,
    training: {
      config: trainer.config,
      steps: trainer.state.step,
      imagesSeen: trainer.state.images,
      trainingSeconds: trainer.state.wallSeconds,
    },
    parameters: { synthesis: countParameters(synthesis), mapping: countParameters(mapping) },
    gaussianFitSamples: options.fitSamples,
    exportedAt: new Date().toISOString(),
  };
  await writeModelDir(outDir, { config: config as unknown as Record<string, unknown>, metadata, tensors }, { force: options.force });
  return metadata;
}
