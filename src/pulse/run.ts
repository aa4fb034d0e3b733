/**
 * The PULSE search (Menon et al., CVPR 2020): find latents whose generated image,
 * downscaled with BicubicDownSample, matches the low-resolution target, by projected
 * (spherical) gradient descent on a Gaussianised W+ latent and the first noise maps.
 * Follows the official PULSE.forward step for step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BicubicDownsampler } from './bicubic.js';
import { type LossTerm, parseLossString } from './loss-string.js';
import { geocross, l1Loss, l2Loss, perImageMse } from './losses.js';
import { createOptimizer } from './optimizers.js';
import type { PulseOptions } from './options.js';
import { scheduleFactor } from './schedules.js';
import { projectToSphere, rowNorm } from './spherical.js';
import { type SearchInit, drawInit } from './search-init.js';
import { type PulseGenerator, toDlatents } from './generator-interface.js';
import { noiseSide } from '../stylegan/config.js';
import { isPowerOfTwo } from '../util/power-of-two.js';
import { valueAndGradsLean } from '../backend/lean-gradients.js';

/** One optimisation step as the official code logs it, plus each solution's MSE. */
export interface PulseStep {
  /** 0-based step index. */
  readonly step: number;
  /** Learning rate used in this step. */
  readonly lr: number;
  /** Each loss term as the official LossBuilder reports it (summed over the batch). */
  readonly terms: Partial<Record<LossTerm, number>>;
  /** The weighted sum of the terms. */
  readonly total: number;
  /** Per-solution MSE between the downscaled image and the target (unclamped). */
  readonly mse: readonly number[];
}

export interface PulseResult {
  /** Final images (G + 1) / 2, [B, R, R, 3] NHWC row-major, unclamped (from the last forward pass, as the official code returns). */
  readonly images: Float32Array;
  /** The same images downscaled by BicubicDownSample, [B, r, r, 3]. */
  readonly downscaled: Float32Array;
  readonly batch: number;
  readonly resolution: number;
  readonly lowResolution: number;
  readonly factor: number;
  /** Seed of each solution. */
  readonly seeds: readonly number[];
  /** Latent after the last step, [B, L or 1, 512]. */
  readonly latent: Float32Array;
  /** Noise layers that were optimised. */
  readonly trainableNoiseLayers: readonly number[];
  /** Noise maps after the last step, per layer ([B, s, s]) or null for zero layers. */
  readonly noise: readonly (Float32Array | null)[];
  readonly trace: readonly PulseStep[];
  /** Per solution: the smallest MSE seen and whether it met eps. */
  readonly minMse: readonly number[];
  readonly success: readonly boolean[];
  /** The official criterion: min over steps of the batch-summed, eps-clamped L2; null without an L2 term. */
  readonly officialMinL2: number | null;
  readonly seconds: number;
}

export interface PulseHooks {
  /** Starting point (for parity checks); drawn from the seeds when absent. */
  readonly init?: SearchInit;
  /**
   * Called after every step; a returned promise is awaited before the next step (the web page
   * yields there so that it repaints and sees a click on Cancel).
   */
  readonly onStep?: (step: PulseStep, elapsedSeconds: number) => void | Promise<void>;
  /**
   * Called after every step with that step's images (G + 1) / 2, [B, R, R, 3]; the tensor is
   * valid only during the call (copy what you keep). For image strips of the search.
   */
  readonly onStepImage?: (step: number, images: tf.Tensor4D) => void;
  /**
   * Called in every step with the loss gradients before the optimiser uses them: the latent's
   * first, then each trainable noise map's in layer order (for per-step parity checks).
   */
  readonly onGradients?: (step: number, grads: readonly Float32Array[]) => void;
  /** Checked before every step: once aborted, the run stops, frees its tensors and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** Checks that a low-res side maps onto the generator's side by a power of two. */
export function factorFor(resolution: number, lowRes: number, what = 'input'): number {
  const factor = resolution / lowRes;
  // A side of 1 cannot be reflect-padded by the downsampler (nor in the official code).
  if (!isPowerOfTwo(factor) || lowRes < 2) {
    const sizes: number[] = [];
    for (let s = resolution; s >= 2; s /= 2) sizes.push(s);
    throw new Error(
      `${what} is ${lowRes}x${lowRes}, which does not divide the model's ${resolution}x${resolution} by a power of 2; sizes that work: ${sizes.join(', ')}`,
    );
  }
  return factor;
}

/**
 * Runs PULSE on targets [T, h, w, 3] (NHWC, values in [0, 1]); each target gets
 * `options.duplicates` solutions, batched together (item t*duplicates + k has seed
 * options.seed + k).
 */
export async function runPulse(
  generator: PulseGenerator,
  target: tf.Tensor4D,
  options: PulseOptions,
  hooks: PulseHooks = {},
): Promise<PulseResult> {
  const synthesis = generator.synthesis;
  const resolution = synthesis.config.resolution;
  const numLayers = synthesis.numLayers;
  const [targets, h, w, c] = target.shape;
  if (h !== w || c !== 3) throw new Error(`target has shape [${target.shape.join(', ')}]; expected [T, s, s, 3]`);
  const factor = factorFor(resolution, h);
  const dup = options.duplicates;
  const batch = targets * dup;
  const seeds = Array.from({ length: batch }, (_, i) => options.seed + (i % dup));
  const terms = parseLossString(options.loss);
  const trainable = new Set<number>();
  const init =
    hooks.init ??
    drawInit({
      seeds,
      numLayers,
      dlatentSize: synthesis.config.dlatentSize,
      tileLatent: options.tileLatent,
      noiseType: options.noiseType,
      badNoiseLayers: options.badNoiseLayers,
    });
  if (options.noiseType === 'trainable') {
    for (let i = 0; i < Math.min(options.numTrainableNoiseLayers, numLayers); i++) if (init.noise[i]) trainable.add(i);
  }

  const start = performance.now();
  const down = new BicubicDownsampler(factor);
  const mean = tf.tensor1d(generator.gaussianFit.mean);
  const std = tf.tensor1d(generator.gaussianFit.std);
  const ref = dup === 1 ? tf.clone(target) : tf.tidy(() => tf.reshape(tf.tile(tf.expandDims(target, 1), [1, dup, 1, 1, 1]), [batch, h, w, 3]) as tf.Tensor4D);

  let latent: tf.Tensor = tf.tensor3d(init.latent, [batch, init.latentRows, synthesis.config.dlatentSize]);
  const noise: (tf.Tensor4D | null)[] = init.noise.map((m, i) => (m ? tf.tensor4d(m, [batch, noiseSide(i), noiseSide(i), 1]) : null));
  const trainableIdx = [...trainable].sort((a, b) => a - b);
  // The other maps stay as drawn: no gradient is computed for them.
  const constantNoise = new Set(init.noise.map((_, i) => i).filter((i) => !trainable.has(i)));
  const radii = [latent, ...trainableIdx.map((i) => noise[i]!)].map((t) => rowNorm(t));
  const optimizer = createOptimizer(options.optimizer);

  const trace: PulseStep[] = [];
  const minMse = new Array<number>(batch).fill(Infinity);
  let officialMinL2 = Infinity;
  const hasL2 = terms.some((t) => t.term === 'L2');
  let lastImage: tf.Tensor4D | null = null;

  try {
    for (let step = 0; step < options.steps; step++) {
      hooks.signal?.throwIfAborted();
      const lr = options.learningRate * scheduleFactor(options.lrSchedule, step, options.steps);
      let summary: tf.Tensor1D | null = null;
      let image: tf.Tensor4D | null = null;
      const vars = [latent, ...trainableIdx.map((i) => noise[i]!)];
      const loss = (...xs: tf.Tensor[]): tf.Scalar => {
        const [lat, ...trainNoise] = xs;
        const noiseIn = noise.map((n, i) => (trainable.has(i) ? (trainNoise[trainableIdx.indexOf(i)] as tf.Tensor4D) : n));
        const latIn = options.tileLatent ? tf.tile(lat, [1, numLayers, 1]) : lat;
        const dl = toDlatents(latIn as tf.Tensor3D, mean, std);
        const gen = tf.div(tf.add(synthesis.forward(dl, noiseIn, undefined, constantNoise), 1), 2) as tf.Tensor4D;
        const lr4 = down.apply(gen);
        const mse = perImageMse(lr4, ref);
        const values: tf.Scalar[] = [];
        let total: tf.Scalar = tf.scalar(0);
        for (const t of terms) {
          const v =
            t.term === 'L2' ? l2Loss(mse, options.eps) : t.term === 'L1' ? l1Loss(lr4, ref, options.eps) : geocross(dl);
          values.push(v);
          total = tf.add(total, tf.mul(v, t.weight));
        }
        summary = tf.keep(tf.concat([tf.stack([...values, total]), mse]) as tf.Tensor1D);
        image = tf.keep(gen);
        return total;
      };
      const { value, grads } = valueAndGradsLean(loss, vars);
      if (hooks.onGradients) hooks.onGradients(step, await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array)));
      const next = optimizer.step(vars, grads, lr);
      tf.dispose([value, ...grads]);
      const projected = next.map((p, i) => projectToSphere(p, radii[i]));
      tf.dispose(next);
      tf.dispose(vars);
      latent = projected[0];
      trainableIdx.forEach((layer, k) => (noise[layer] = projected[k + 1] as tf.Tensor4D));
      if (lastImage) (lastImage as tf.Tensor).dispose();
      lastImage = image;
      if (hooks.onStepImage && image) hooks.onStepImage(step, image);

      const values = await summary!.data();
      summary!.dispose();
      const stepTerms: Partial<Record<LossTerm, number>> = {};
      terms.forEach((t, k) => (stepTerms[t.term] = values[k]));
      const mse = Array.from(values.subarray(terms.length + 1));
      mse.forEach((m, k) => (minMse[k] = Math.min(minMse[k], m)));
      if (hasL2) officialMinL2 = Math.min(officialMinL2, stepTerms.L2!);
      const record: PulseStep = { step, lr, terms: stepTerms, total: values[terms.length], mse };
      trace.push(record);
      await hooks.onStep?.(record, (performance.now() - start) / 1000);
    }

    const finalImage = lastImage as tf.Tensor4D | null;
    if (!finalImage) throw new Error('PULSE ran no steps');
    const lowRes = down.apply(finalImage);
    const result: PulseResult = {
      images: (await finalImage.data()) as Float32Array,
      downscaled: (await lowRes.data()) as Float32Array,
      batch,
      resolution,
      lowResolution: h,
      factor,
      seeds,
      latent: (await latent.data()) as Float32Array,
      trainableNoiseLayers: trainableIdx,
      noise: await Promise.all(noise.map(async (n) => (n ? ((await n.data()) as Float32Array) : null))),
      trace,
      minMse,
      success: minMse.map((m) => m <= options.eps),
      officialMinL2: hasL2 ? officialMinL2 : null,
      seconds: (performance.now() - start) / 1000,
    };
    lowRes.dispose();
    return result;
  } finally {
    tf.dispose([latent, ...noise.filter((n): n is tf.Tensor4D => n !== null), ...radii, mean, std, ref]);
    if (lastImage) (lastImage as tf.Tensor).dispose();
    optimizer.dispose();
    down.dispose();
  }
}
