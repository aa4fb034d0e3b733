/**
 * One design of notebooks/04-multiple-solutions.ipynb run through PULSE: N solutions for one
 * input whose starting points resample the latent, the noise, or both (src/notebook/solutions.ts
 * `designSeeds`, `resampledInit`). Only the starting points differ from a plain `runPulse`.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { type RgbImage, imageFromNhwc } from '../io/image.js';
import type { PulseGenerator } from '../pulse/generator-interface.js';
import type { PulseOptions } from '../pulse/options.js';
import { type PulseResult, runPulse } from '../pulse/run.js';
import { DESIGN_LABELS, type ResampleDesign, designSeeds, resampledInit } from './solutions.js';

/** A design's solutions and how they started. */
export interface DesignRun {
  readonly design: ResampleDesign;
  /** `DESIGN_LABELS[design]`, for captions. */
  readonly label: string;
  readonly latentSeeds: readonly number[];
  readonly noiseSeeds: readonly number[];
  readonly result: PulseResult;
  /** Each solution's final image, [0, 1] unclamped as `runPulse` returns it. */
  readonly images: readonly RgbImage[];
  /** Each solution's caption: `z<latent seed> n<noise seed>`. */
  readonly labels: readonly string[];
}

/**
 * PULSE on `target` ([1, r, r, 3]) with `n` solutions drawn by `design` around `seed`, and
 * otherwise `options` (its `duplicates` must be `n`, since the batch is one target's solutions).
 */
export async function runDesign(
  generator: PulseGenerator,
  target: tf.Tensor4D,
  options: PulseOptions,
  design: ResampleDesign,
  seed: number,
  n: number,
): Promise<DesignRun> {
  if (options.duplicates !== n) throw new Error(`runDesign: options.duplicates is ${options.duplicates} but n is ${n}; set duplicates to the number of solutions`);
  const { latentSeeds, noiseSeeds } = designSeeds(design, seed, n);
  const synthesis = generator.synthesis;
  const init = resampledInit({
    latentSeeds,
    noiseSeeds,
    numLayers: synthesis.numLayers,
    dlatentSize: synthesis.config.dlatentSize,
    tileLatent: options.tileLatent,
    noiseType: options.noiseType,
    badNoiseLayers: options.badNoiseLayers,
  });
  const result = await runPulse(generator, target, options, { init });
  const R = result.resolution;
  const images = Array.from({ length: result.batch }, (_, k) => imageFromNhwc(result.images, k, { width: R, height: R }));
  const labels = latentSeeds.map((z, k) => `z${z} n${noiseSeeds[k]}`);
  return { design, label: DESIGN_LABELS[design], latentSeeds, noiseSeeds, result, images, labels };
}
