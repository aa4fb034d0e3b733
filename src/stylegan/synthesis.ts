/**
 * StyleGAN v1 synthesis network (the official PULSE `G_synthesis`), NHWC on tfjs.
 *
 * The network is the list of layers of synthesis-layers.ts, each owning its parameters; the
 * forward is their fold. For inference the equalised-lr scales are folded into the weights
 * and the fused 4x4 upscale kernels precomputed at load, so a forward pass allocates only
 * activations.
 * With `trainable: true` the raw weights are variables (see weights.ts) for `pulse train`.
 * A 'skip' config (config.ts) adds the lower blocks' colours to the image.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';
import { type SynthesisConfig, numLayers } from './config.js';
import type { PreActivationProbe } from './layers.js';
import type { ConstInput } from './modules/const-input.js';
import type { EqualizedConv2d } from './modules/equalized-conv.js';
import type { SynthesisLayer } from './modules/synthesis-layer.js';
import { weightSpecsOf } from './param-decl.js';
import { inferSynthesisConfig, synthesisParamSpec, validateStateDict } from './params.js';
import { synthesisLayers, synthesisParams } from './synthesis-layers.js';
import { upsampleBilinear2x } from './upsample-bilinear.js';
import { type WeightSpec, Weights } from './weights.js';

/** Layout, run-time scale and trainability of every synthesis tensor, as its layer declares them. */
export function synthesisWeightSpecs(cfg: SynthesisConfig): Map<string, WeightSpec> {
  return weightSpecsOf(synthesisParams(cfg));
}

export interface SynthesisOptions {
  /** Raw weights as variables, for training. Default false (inference). */
  readonly trainable?: boolean;
}

export class Synthesis {
  readonly config: SynthesisConfig;
  /** Style/noise inputs: 2 * log2(resolution) - 2. */
  readonly numLayers: number;
  readonly weights: Weights;
  private readonly input: ConstInput;
  private readonly layers: readonly SynthesisLayer[];
  private readonly blockEnds: readonly number[];
  /** Skip outputs: the toRGB run after layers[i - 1], keyed by i (a block's end); empty for 'orig'. */
  private readonly skipToRgbAt: ReadonlyMap<number, EqualizedConv2d>;

  private constructor(config: SynthesisConfig, weights: Weights) {
    this.config = config;
    this.numLayers = numLayers(config.resolution);
    this.weights = weights;
    const { input, layers, blockEnds, skipToRgb } = synthesisLayers(config);
    this.input = input;
    this.layers = layers;
    this.blockEnds = blockEnds;
    this.skipToRgbAt = new Map(skipToRgb.map((l, block) => [blockEnds[block], l]));
    if (!weights.trainable) {
      const unread: string[] = [];
      tf.tidy(() => [...this.layers, ...skipToRgb].forEach((l) => unread.push(...(l.prepare?.(weights) ?? []))));
      weights.release(unread);
    }
  }

  /**
   * Builds the network from an official-format state dict (names as in PyTorch).
   * The architecture is read off the tensors unless `config` is given; either way every
   * tensor is checked first, and nothing is allocated for a state dict that fails.
   */
  static fromStateDict(sd: StateDict, source: string, config?: SynthesisConfig, options: SynthesisOptions = {}): Synthesis {
    const cfg = config ?? inferSynthesisConfig(sd, source);
    if (cfg.architecture !== undefined && cfg.architecture !== 'orig' && cfg.architecture !== 'skip') {
      throw new Error(`${source}: synthesis architecture '${String(cfg.architecture)}' is not 'orig' (v1's single toRGB) or 'skip' (a toRGB per block)`);
    }
    validateStateDict(sd, synthesisParamSpec(cfg), source);
    return new Synthesis(cfg, new Weights(sd, synthesisWeightSpecs(cfg), options.trainable ?? false, 'synthesis.'));
  }

  /**
   * dlatents [B, L, 512] and one noise map per layer ([B, s, s, 1] NHWC, or null for none)
   * -> image [B, R, R, 3], roughly in [-1, 1]. `probe` sees every LeakyReLU's input.
   * `constantNoise` names the layers whose noise map the caller never differentiates (a search's
   * fixed maps): with frozen weights no gradient is computed for them (EpilogueConstants).
   */
  forward(
    dlatents: tf.Tensor3D,
    noise: readonly (tf.Tensor4D | null)[],
    probe?: PreActivationProbe,
    constantNoise?: ReadonlySet<number>,
  ): tf.Tensor4D {
    const [batch, layers, width] = dlatents.shape;
    if (layers !== this.numLayers || width !== this.config.dlatentSize) {
      throw new Error(
        `dlatents have shape [${dlatents.shape.join(', ')}]; this ${this.config.resolution} px generator needs [B, ${this.numLayers}, ${this.config.dlatentSize}]`,
      );
    }
    if (noise.length !== this.numLayers) {
      throw new Error(`got ${noise.length} noise maps; this generator has ${this.numLayers} noise inputs`);
    }
    return tf.tidy(() => {
      const inputs = { styles: tf.unstack(dlatents, 1) as tf.Tensor2D[], noise, probe, constantNoise };
      let x = this.input.forward(batch, this.weights);
      // Skip outputs: the image so far, at the side of the last block run (null for 'orig').
      let skipImage: tf.Tensor4D | null = null;
      const top = this.layers.length - 1; // toRGB
      for (let i = 0; i < top; i++) {
        x = this.layers[i].forward(x, this.weights, inputs);
        const toRgb = this.skipToRgbAt.get(i + 1);
        if (toRgb) skipImage = addSkip(skipImage, toRgb.forward(x, this.weights));
      }
      const rgb = this.layers[top].forward(x, this.weights, inputs);
      return skipImage ? addSkip(skipImage, rgb) : rgb;
    });
  }

  /**
   * Training with progressive growing (train/growing.ts, 'orig' networks only): the feature maps after blocks
   * 0..`lastBlock` (block 0 is 4x4), without toRGB; layers above `lastBlock` are not run, so
   * their noise maps may be null. `forward` is these blocks through the last one, then `toRgb`.
   */
  blockOutputs(dlatents: tf.Tensor3D, noise: readonly (tf.Tensor4D | null)[], lastBlock: number): tf.Tensor4D[] {
    if (!Number.isInteger(lastBlock) || lastBlock < 0 || lastBlock >= this.blockEnds.length) {
      throw new Error(`block ${lastBlock} does not exist; this ${this.config.resolution} px generator has blocks 0..${this.blockEnds.length - 1}`);
    }
    const inputs = { styles: tf.unstack(dlatents, 1) as tf.Tensor2D[], noise };
    const outputs: tf.Tensor4D[] = [];
    let x = this.input.forward(dlatents.shape[0], this.weights);
    for (let i = 0; i < this.blockEnds[lastBlock]; i++) {
      x = this.layers[i].forward(x, this.weights, inputs);
      if (this.blockEnds.includes(i + 1)) outputs.push(x);
    }
    return outputs;
  }

  /** The network's own toRGB (1x1 conv) on the last block's feature maps. */
  toRgb(features: tf.Tensor4D): tf.Tensor4D {
    return this.layers[this.layers.length - 1].forward(features, this.weights, { styles: [], noise: [] });
  }

  /** Official-format state dict (raw values), e.g. to save a trained model. */
  toStateDict(): Promise<StateDict> {
    return this.weights.toStateDict();
  }

  dispose(): void {
    this.weights.dispose();
    [...this.layers, ...this.skipToRgbAt.values()].forEach((l) => l.dispose?.());
  }
}

/** One skip output step: the image so far, upsampled 2x, plus this block's colours. */
function addSkip(image: tf.Tensor4D | null, rgb: tf.Tensor4D): tf.Tensor4D {
  return image ? (tf.add(upsampleBilinear2x(image), rgb) as tf.Tensor4D) : rgb;
}
