/**
 * Progressive growing, as StyleGAN v1 trains (Karras et al. 2018, 2019): training starts at a
 * low resolution and doubles it in phases; each new block is faded in while the previous
 * output, upsampled, fades out. The schedule, the fade of real images and the training-only
 * toRGB layers live here; the discriminator's extra fromRGB layers are in discriminator.ts.
 *
 * The searched generator does not change. Growing adds one toRGB per lower block to G, used
 * only while training at that block; once grown (level of detail 0) G computes exactly the
 * single-toRGB network PULSE searches, and `pulse export-model` writes only that network.
 *
 * Images stay at the current stage's side throughout (G's output, the reals, D's input),
 * where v1 upsamples them to full size by nearest neighbour and its D averages them back
 * down: the same numbers (2x2 averaging inverts nearest upsampling), less work.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';
import { type SynthesisConfig, architectureOf, blockChannels, blockName, log2Resolution } from '../stylegan/config.js';
import { EqualizedConv2d } from '../stylegan/modules/equalized-conv.js';
import { type ParamDecl, weightSpecsOf } from '../stylegan/param-decl.js';
import { paramSpecOf, validateStateDict } from '../stylegan/params.js';
import { initialStateDict } from '../stylegan/random-weights.js';
import type { Synthesis } from '../stylegan/synthesis.js';
import { Weights } from '../stylegan/weights.js';
import { downsample2x } from './discriminator.js';

/** When the resolution doubles. Growing is off when `fromResolution` equals `resolution`. */
export interface GrowthSchedule {
  /** The final (model) resolution. */
  readonly resolution: number;
  /** The first training resolution, a power of two from 8 up to `resolution`. v1: 8. */
  readonly fromResolution: number;
  /** Real images per phase: each resolution is trained this long, then the next is faded in this long. v1: 600k each. */
  readonly phaseImages: number;
}

/**
 * StyleGAN v1's level of detail after `images` real images: log2(resolution / side) of the
 * current output, fractional while a block fades in, 0 once fully grown.
 */
export function levelOfDetail(s: GrowthSchedule, images: number): number {
  const total = log2Resolution(s.resolution) - log2Resolution(s.fromResolution);
  const phase = Math.floor(images / (2 * s.phaseImages));
  const intoPhase = images - phase * 2 * s.phaseImages;
  return Math.max(total - phase - Math.max(intoPhase - s.phaseImages, 0) / s.phaseImages, 0);
}

/** Real images after which a growing run is at full resolution (level of detail 0); 0 without growing. */
export function grownAtImages(c: { readonly resolution: number; readonly growFrom: number | null; readonly growPhaseImages: number }): number {
  if (c.growFrom === null) return 0;
  return 2 * c.growPhaseImages * (log2Resolution(c.resolution) - log2Resolution(c.growFrom));
}

/** What one step trains: the top block, the side of its images, and the fade of the previous block. */
export interface GrowthStage {
  /** The highest synthesis block run (0 = 4x4). */
  readonly block: number;
  /** Side of G's output, of the reals and of D's input at this stage. */
  readonly side: number;
  /** Weight of the previous block's (upsampled) output, in [0, 1): 0 once the block is faded in. */
  readonly fade: number;
}

export function growthStage(resolution: number, lod: number): GrowthStage {
  const whole = Math.floor(lod);
  const block = log2Resolution(resolution) - 2 - whole;
  return { block, side: 2 ** (block + 2), fade: lod - whole };
}

/** Two levels of detail need an optimiser reset between them (v1: reset_opt_for_new_lod): a fade starts or ends. */
export function lodPhaseChanged(before: number, after: number): boolean {
  return Math.floor(before) !== Math.floor(after) || Math.ceil(before) !== Math.ceil(after);
}

/** Nearest-neighbour 2x upsampling (v1's upscale2d), differentiable (tfjs's tile has a gradient up to rank 4). */
export function upsampleNearest2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const columns = tf.tile(tf.reshape(x, [b * h, w, 1, c]), [1, 1, 2, 1]); // each pixel twice along a row
  const rows = tf.tile(tf.reshape(columns, [b, h, 1, 2 * w * c]), [1, 1, 2, 1]); // each row twice
  return tf.reshape(rows, [b, 2 * h, 2 * w, c]) as tf.Tensor4D;
}

/** a + (b - a) * t. */
function lerp(a: tf.Tensor4D, b: tf.Tensor4D, t: number): tf.Tensor4D {
  return tf.add(a, tf.mul(tf.sub(b, a), t)) as tf.Tensor4D;
}

/** Average-pools full-size images down to `side`. */
export function downsampleTo(x: tf.Tensor4D, side: number): tf.Tensor4D {
  let y = x;
  while (y.shape[1] > side) y = downsample2x(y);
  return y;
}

/**
 * Real images as D sees them at a stage (v1's process_reals): pooled to the stage's side and,
 * while a block fades in, blended toward their own coarser version by the fade.
 */
export function realsAtStage(reals: tf.Tensor4D, stage: GrowthStage): tf.Tensor4D {
  return tf.tidy(() => {
    const x = downsampleTo(reals, stage.side);
    return stage.fade > 0 ? lerp(x, upsampleNearest2x(downsample2x(x)), stage.fade) : x;
  });
}

/** The training-only toRGB of every block below the top, from the first training resolution up. */
export function growingToRgbLayers(cfg: SynthesisConfig, fromResolution: number): Map<number, EqualizedConv2d> {
  const channels = blockChannels(cfg);
  const first = log2Resolution(fromResolution) - 2;
  const layers = new Map<number, EqualizedConv2d>();
  for (let b = first; b < channels.length - 1; b++) {
    layers.set(b, new EqualizedConv2d(`torgb.${blockName(b)}`, channels[b], cfg.numChannels, { kernel: 1, gain: 1, padding: 'valid' }));
  }
  return layers;
}

function growingParams(layers: Map<number, EqualizedConv2d>): ParamDecl[] {
  return [...layers.values()].flatMap((l) => l.params);
}

/** G's toRGB layers for the lower blocks, trained alongside the synthesis network and dropped at export. */
export class GrowingOutputs {
  readonly weights: Weights;
  private readonly layers: Map<number, EqualizedConv2d>;

  constructor(cfg: SynthesisConfig, fromResolution: number, sd: StateDict, source = 'growing toRGB layers') {
    if (architectureOf(cfg) !== 'orig') throw new Error(`progressive growing needs a synthesis network with architecture 'orig', not '${architectureOf(cfg)}'`);
    this.layers = growingToRgbLayers(cfg, fromResolution);
    const params = growingParams(this.layers);
    validateStateDict(sd, paramSpecOf(params), source);
    this.weights = new Weights(sd, weightSpecsOf(params), true, 'grow.');
  }

  /** Official-style init, seeded per tensor like every other network's. */
  static initialStateDict(cfg: SynthesisConfig, fromResolution: number, seed: number | string): StateDict {
    return initialStateDict(growingParams(growingToRgbLayers(cfg, fromResolution)), `grow:${seed}`);
  }

  /** The image of the generator at a stage: the top block's toRGB, faded with the block below's (upsampled). */
  image(synthesis: Synthesis, dlatents: tf.Tensor3D, noise: readonly (tf.Tensor4D | null)[], stage: GrowthStage): tf.Tensor4D {
    return tf.tidy(() => {
      const blocks = synthesis.blockOutputs(dlatents, noise, stage.block);
      const top = this.toRgb(synthesis, stage.block, blocks[stage.block]);
      if (stage.fade === 0) return top;
      const below = upsampleNearest2x(this.toRgb(synthesis, stage.block - 1, blocks[stage.block - 1]));
      return lerp(top, below, stage.fade);
    });
  }

  private toRgb(synthesis: Synthesis, block: number, features: tf.Tensor4D): tf.Tensor4D {
    if (block === synthesis.numLayers / 2 - 1) return synthesis.toRgb(features);
    const layer = this.layers.get(block);
    if (!layer) throw new Error(`no growing toRGB for block ${block} (${blockName(block)}); growing starts above it`);
    return layer.forward(features, this.weights);
  }

  toStateDict(): Promise<StateDict> {
    return this.weights.toStateDict();
  }

  dispose(): void {
    this.weights.dispose();
  }
}
