/**
 * A residual discriminator for `pulse train` (StyleGAN2's "resnet" D without blur filters):
 * fromRGB, then per resolution two 3x3 convs and a 2x average-pool down, with a 1x1 skip
 * path, outputs summed and scaled by 1/sqrt(2); at 4x4 the minibatch-stddev feature, a conv,
 * a dense layer and the logit. Equalised learning rate throughout. Built only from ops whose
 * second derivative tfjs has, so the R1 penalty (a gradient of a gradient) works on every
 * backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';
import { type SynthesisConfig, featureMaps, log2Resolution } from '../stylegan/config.js';
import { EqualizedConv2d } from '../stylegan/modules/equalized-conv.js';
import { EqualizedDense } from '../stylegan/modules/equalized-dense.js';
import { type ParamDecl, weightSpecsOf } from '../stylegan/param-decl.js';
import { type ParamSpec, paramSpecOf, validateStateDict } from '../stylegan/params.js';
import { initialStateDict } from '../stylegan/random-weights.js';
import { Weights } from '../stylegan/weights.js';

/** D shares G's width rule (StyleGAN's nf) and resolution. */
export type DiscriminatorConfig = Pick<SynthesisConfig, 'resolution' | 'fmapBase' | 'fmapDecay' | 'fmapMax'> & {
  /** Minibatch-stddev group size (StyleGAN: 4). */
  readonly mbstdGroup: number;
  /** Progressive growing (growing.ts): the first training resolution; a fromRGB per lower side from it. Default: `resolution` (no growing). */
  readonly growFrom?: number;
};

/** Where D starts at a stage of growing: the side of its input and the fade of the side below (growing.ts). */
export interface DiscriminatorStage {
  readonly side: number;
  readonly fade: number;
}

/** One residual block: two 3x3 convs (then a 2x pool) beside a 1x1 skip conv without bias. */
interface ResidualBlock {
  readonly conv0: EqualizedConv2d;
  readonly conv1: EqualizedConv2d;
  readonly skip: EqualizedConv2d;
}

/** The discriminator's layers, built from the config; each declares its parameters. */
interface DiscriminatorLayers {
  readonly fromRgb: EqualizedConv2d;
  /** Highest resolution first. */
  readonly blocks: readonly ResidualBlock[];
  readonly finalConv: EqualizedConv2d;
  readonly finalDense: EqualizedDense;
  readonly out: EqualizedDense;
  /** Growing only: fromRGB for each side below the top, by side. */
  readonly fromRgbBelow: ReadonlyMap<number, EqualizedConv2d>;
}

function discriminatorLayers(cfg: DiscriminatorConfig): DiscriminatorLayers {
  const nf = (stage: number) => featureMaps({ ...cfg, dlatentSize: 512, numChannels: 3 }, stage);
  const top = log2Resolution(cfg.resolution);
  const conv3 = { kernel: 3, gain: Math.SQRT2, padding: 'same', leakyRelu: true } as const;
  const blocks: ResidualBlock[] = [];
  for (let r = top; r >= 3; r--) {
    const p = `blocks.${2 ** r}x${2 ** r}`;
    const cin = nf(r - 1);
    const cout = nf(r - 2);
    blocks.push({
      conv0: new EqualizedConv2d(`${p}.conv0`, cin, cin, conv3),
      conv1: new EqualizedConv2d(`${p}.conv1`, cin, cout, conv3),
      // Gain 1: the skip is summed with the residual path before any nonlinearity.
      skip: new EqualizedConv2d(`${p}.skip`, cin, cout, { kernel: 1, gain: 1, padding: 'same', bias: false }),
    });
  }
  const c4 = nf(1);
  const fromRgbBelow = new Map<number, EqualizedConv2d>();
  for (let r = log2Resolution(cfg.growFrom ?? cfg.resolution); r < top; r++) {
    fromRgbBelow.set(2 ** r, new EqualizedConv2d(`fromrgb.${2 ** r}x${2 ** r}`, 3, nf(r - 1), { kernel: 1, gain: Math.SQRT2, padding: 'same', leakyRelu: true }));
  }
  return {
    fromRgbBelow,
    fromRgb: new EqualizedConv2d('fromrgb', 3, nf(top - 1), { kernel: 1, gain: Math.SQRT2, padding: 'same', leakyRelu: true }),
    blocks,
    // One input channel more: the minibatch-stddev feature.
    finalConv: new EqualizedConv2d('final.conv', c4 + 1, c4, conv3),
    finalDense: new EqualizedDense('final.dense', c4 * 16, c4, { gain: Math.SQRT2, leakyRelu: true }),
    out: new EqualizedDense('final.out', c4, 1, { gain: 1, leakyRelu: false }),
  };
}

/** Every parameter, in state-dict order. */
function discriminatorParams(cfg: DiscriminatorConfig): ParamDecl[] {
  const l = discriminatorLayers(cfg);
  return [
    ...l.fromRgb.params,
    ...l.blocks.flatMap((b) => [...b.conv0.params, ...b.conv1.params, ...b.skip.params]),
    ...l.finalConv.params,
    ...l.finalDense.params,
    ...l.out.params,
    // After everything else, so a run without growing keeps its parameter order.
    ...[...l.fromRgbBelow.values()].flatMap((f) => f.params),
  ];
}

export function discriminatorParamSpec(cfg: DiscriminatorConfig): ParamSpec {
  return paramSpecOf(discriminatorParams(cfg));
}

/** Official-style init: weights N(0, 1) (scaled at run time), biases 0. */
export function randomDiscriminatorStateDict(cfg: DiscriminatorConfig, seed: number | string): StateDict {
  return initialStateDict(discriminatorParams(cfg), `disc:${seed}`);
}

/** 2x2 average pooling by reshape + mean (rank 5), differentiable twice everywhere. */
export function downsample2x(x: tf.Tensor4D): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  return tf.reshape(tf.mean(tf.reshape(x, [b * (h / 2), 2, w / 2, 2, c]), [1, 3]), [b, h / 2, w / 2, c]) as tf.Tensor4D;
}

/** StyleGAN's minibatch standard deviation feature, appended as one channel. */
export function minibatchStddev(x: tf.Tensor4D, groupSize: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const g = Math.min(groupSize, b);
  if (b % g !== 0) throw new Error(`batch ${b} is not a multiple of the minibatch-stddev group ${g}`);
  const y = tf.reshape(x, [g, b / g, h, w, c]);
  const centred = tf.sub(y, tf.mean(y, 0, true));
  const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), 1e-8)); // [b/g, h, w, c]
  const perGroup = tf.mean(std, [1, 2, 3]); // [b/g]
  // sample i = k * (b/g) + j belongs to group j (tile's gradient exists up to rank 4)
  const perSample = tf.reshape(tf.tile(tf.reshape(perGroup, [1, b / g]), [g, 1]), [b, 1, 1, 1]);
  return tf.concat([x, tf.tile(perSample, [1, h, w, 1]) as tf.Tensor4D], 3);
}

export class Discriminator {
  readonly config: DiscriminatorConfig;
  readonly weights: Weights;
  private readonly layers: DiscriminatorLayers;

  constructor(config: DiscriminatorConfig, sd: StateDict, source = 'discriminator') {
    validateStateDict(sd, discriminatorParamSpec(config), source);
    this.config = config;
    this.layers = discriminatorLayers(config);
    this.weights = new Weights(sd, weightSpecsOf(discriminatorParams(config)), true, 'disc.');
  }

  /**
   * images [B, R, R, 3] in [-1, 1] -> logits [B]. While growing, `stage` gives the side of the
   * images (below R: D starts at that side's fromRGB and block) and the fade toward the side
   * below, whose fromRGB sees the images pooled (v1's D at a fractional level of detail).
   */
  forward(images: tf.Tensor4D, stage?: DiscriminatorStage): tf.Tensor1D {
    const w = this.weights;
    const l = this.layers;
    const side = stage?.side ?? this.config.resolution;
    const fade = stage?.fade ?? 0;
    if (images.shape[1] !== side || images.shape[2] !== side) {
      throw new Error(`discriminator input is ${images.shape[1]}x${images.shape[2]}; this stage takes ${side}x${side} images`);
    }
    const fromRgb = (s: number): EqualizedConv2d => {
      if (s === this.config.resolution) return l.fromRgb;
      const f = l.fromRgbBelow.get(s);
      if (!f) throw new Error(`the discriminator has no fromRGB for ${s}x${s}: growing starts at ${this.config.growFrom ?? this.config.resolution} px`);
      return f;
    };
    return tf.tidy(() => {
      let x = fromRgb(side).forward(images, w);
      const first = log2Resolution(this.config.resolution) - log2Resolution(side);
      for (let i = first; i < l.blocks.length; i++) {
        const block = l.blocks[i];
        const skip = block.skip.forward(downsample2x(x), w);
        let y = block.conv0.forward(x, w);
        y = downsample2x(block.conv1.forward(y, w));
        x = tf.mul(tf.add(y, skip), Math.SQRT1_2) as tf.Tensor4D;
        if (i === first && fade > 0) {
          const below = fromRgb(side / 2).forward(downsample2x(images), w);
          x = tf.add(x, tf.mul(tf.sub(below, x), fade)) as tf.Tensor4D;
        }
      }
      x = minibatchStddev(x, this.config.mbstdGroup);
      x = l.finalConv.forward(x, w);
      const flat = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
      const out = l.out.forward(l.finalDense.forward(flat, w), w);
      return tf.reshape(out, [-1]) as tf.Tensor1D;
    });
  }

  toStateDict(): Promise<StateDict> {
    return this.weights.toStateDict();
  }

  dispose(): void {
    this.weights.dispose();
  }
}
