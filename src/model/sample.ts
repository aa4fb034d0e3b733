/**
 * Faces drawn from a generator: z ~ N(0, I) from a seed -> mapping -> the same w for every
 * layer, with seeded noise. Used by the demo (a face that is nobody), evaluation and
 * `pulse sample`.
 *
 * Truncation (StyleGAN's trick, Karras et al. 2019, section 3.2 / appendix B):
 * w' = w_avg + psi (w - w_avg). psi = 1 is no truncation; psi < 1 trades variety for typical,
 * cleaner faces; psi = 0 gives the "average face". StyleGAN tracks w_avg during training as a
 * moving average; our checkpoints do not keep one, so `estimateWAvg` computes it as the mean of
 * mapping(z) over W_AVG_SAMPLES latents drawn from a fixed seed (StyleGAN2-ADA's projector does
 * the same with 10,000 samples).
 */
import * as tf from '@tensorflow/tfjs-core';
import { noiseSide } from '../stylegan/config.js';
import { gaussian } from '../util/random.js';
import type { LoadedModel } from './model.js';

/** Latents averaged for w_avg. */
export const W_AVG_SAMPLES = 10_000;
/** Seed of those latents (seedrandom stream `w_avg:<seed>:<batch>`). */
export const W_AVG_SEED = 0;

export interface SampleOptions {
  /** psi in w_avg + psi (w - w_avg); needs `wAvg`. Default 1 (no truncation). */
  truncation?: number;
  /** The average w (length = dlatent size), e.g. from `estimateWAvg`. */
  wAvg?: Float32Array;
  /**
   * The face seed whose noise layer `layer` of face `index` (its position in `seeds`) uses;
   * default: its own seed. Lets a probe change the noise and keep the latent, or the reverse.
   */
  noiseSeed?: (index: number, layer: number) => number;
}

type Sampler = Pick<LoadedModel, 'synthesis' | 'mapping' | 'source'>;

function mappingOf(model: Sampler): NonNullable<LoadedModel['mapping']> {
  if (!model.mapping) throw new Error(`${model.source} has no mapping network, so it cannot draw random faces; use a model with mapping.pt`);
  return model.mapping;
}

/** Mean of mapping(z) over `samples` seeded latents (in batches of 1,000). */
export async function estimateWAvg(model: Pick<LoadedModel, 'mapping' | 'source'>, samples = W_AVG_SAMPLES, seed = W_AVG_SEED): Promise<Float32Array> {
  const mapping = mappingOf(model as Sampler);
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`invalid number of w_avg samples ${samples}`);
  const size = mapping.config.latentSize;
  let sum: tf.Tensor1D | null = null;
  for (let start = 0, b = 0; start < samples; start += 1000, b++) {
    const n = Math.min(1000, samples - start);
    const part = tf.tidy(() => tf.sum(mapping.forward(tf.tensor2d(gaussian(`w_avg:${seed}:${b}`, n * size), [n, size])), 0) as tf.Tensor1D);
    const next: tf.Tensor1D = sum ? tf.add(sum, part) : part;
    if (sum) {
      sum.dispose();
      part.dispose();
    }
    sum = next;
  }
  const mean = tf.div(sum!, samples);
  const out = (await mean.data()) as Float32Array;
  tf.dispose([sum!, mean]);
  return out;
}

/** Images in [0, 1], NHWC [seeds.length, R, R, 3]; seed k gives the same face alone or in a batch. */
export async function sampleFaces(model: Sampler, seeds: readonly number[], options: SampleOptions = {}): Promise<Float32Array> {
  const mapping = mappingOf(model);
  const psi = options.truncation ?? 1;
  if (!Number.isFinite(psi)) throw new Error(`invalid truncation psi ${psi}`);
  if (psi !== 1 && !options.wAvg) throw new Error('truncation needs wAvg (see estimateWAvg)');
  if (options.wAvg && options.wAvg.length !== mapping.config.dlatentSize) {
    throw new Error(`wAvg has ${options.wAvg.length} values, the model's w has ${mapping.config.dlatentSize}`);
  }
  const n = seeds.length;
  const out = tf.tidy(() => {
    const z = tf.tensor2d(
      seeds.flatMap((s) => Array.from(gaussian(`face:${s}:z`, mapping.config.latentSize))),
      [n, mapping.config.latentSize],
    );
    let w = mapping.forward(z);
    if (psi !== 1) {
      const avg = tf.tensor2d(options.wAvg!, [1, options.wAvg!.length]);
      w = tf.add(avg, tf.mul(tf.sub(w, avg), psi)) as tf.Tensor2D;
    }
    const layers = model.synthesis.numLayers;
    const noise = Array.from({ length: layers }, (_, i) => {
      const side = noiseSide(i);
      return tf.tensor4d(
        seeds.flatMap((s, k) => Array.from(gaussian(`face:${options.noiseSeed ? options.noiseSeed(k, i) : s}:noise:${i}`, side * side))),
        [n, side, side, 1],
      );
    });
    const img = model.synthesis.forward(tf.tile(tf.expandDims(w, 1), [1, layers, 1]) as tf.Tensor3D, noise);
    return tf.clipByValue(tf.div(tf.add(img, 1), 2), 0, 1);
  });
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}
