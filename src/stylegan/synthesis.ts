/**
 * StyleGAN v1 synthesis network (the official PULSE `G_synthesis`), NHWC on tfjs.
 *
 * For inference the equalised-lr scales are folded into the weights and the fused 4x4
 * upscale kernels precomputed at load, so a forward pass allocates only activations.
 * With `trainable: true` the raw weights are variables (see weights.ts) for `pulse train`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';
import { type SynthesisConfig, blockChannels, blockName, numLayers } from './config.js';
import { epilogue, type EpilogueWeights, type PreActivationProbe, upscale2x } from './layers.js';
import { inferSynthesisConfig, synthesisParamSpec, validateStateDict } from './params.js';
import { type WeightSpec, Weights } from './weights.js';
import { addFrozenBias, conv2dFrozen, conv2dTransposeFrozen, depthwiseConv2dFrozen } from './frozen-ops.js';

/** He constant of an equalised layer: gain / sqrt(fan_in). */
export function heScale(fanIn: number, gain: number): number {
  return gain * fanIn ** -0.5;
}

/** Layout, run-time scale and trainability of every synthesis tensor (official init constants). */
export function synthesisWeightSpecs(cfg: SynthesisConfig): Map<string, WeightSpec> {
  const specs = new Map<string, WeightSpec>();
  for (const [name, shape] of synthesisParamSpec(cfg)) {
    let spec: WeightSpec;
    if (name.endsWith('.intermediate.kernel')) spec = { layout: 'plain', scale: 1, trainable: false };
    else if (name.endsWith('.const')) spec = { layout: 'const', scale: 1, trainable: true };
    else if (name.endsWith('style_mod.lin.weight')) spec = { layout: 'linear', scale: heScale(shape[1], 1), trainable: true };
    else if (name === 'torgb.weight') spec = { layout: 'conv', scale: heScale(shape[1] * shape[2] * shape[3], 1), trainable: true };
    else if (name.endsWith('.weight') && shape.length === 4) spec = { layout: 'conv', scale: heScale(shape[1] * shape[2] * shape[3], Math.SQRT2), trainable: true };
    else spec = { layout: 'plain', scale: 1, trainable: true };
    specs.set(name, spec);
  }
  return specs;
}

/**
 * The official fused "upscale + conv" kernel used when the output side is >= 128: the 3x3
 * kernel summed over its four 1-pixel shifts into a 4x4 kernel for a stride-2 transposed
 * conv. [3, 3, in, out] -> conv2dTranspose filter [4, 4, out, in].
 */
export function fusedUpscaleFilter(filter: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , inp, out] = filter.shape;
    const p = tf.pad(filter, [[1, 1], [1, 1], [0, 0], [0, 0]]);
    const win = (y: number, x: number) => tf.slice(p, [y, x, 0, 0], [4, 4, inp, out]);
    const sum = tf.addN([win(0, 0), win(1, 0), win(0, 1), win(1, 1)]);
    return tf.transpose(sum, [0, 1, 3, 2]) as tf.Tensor4D;
  });
}

/** The linear ops of a forward pass: tfjs's own when training, frozen-weight ones in a search. */
interface LinearOps {
  conv(x: tf.Tensor4D, filter: tf.Tensor4D, pad: 'same' | 'valid'): tf.Tensor4D;
  convTranspose(x: tf.Tensor4D, filter: tf.Tensor4D, outShape: [number, number, number, number]): tf.Tensor4D;
  blur(x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D;
  addBias(x: tf.Tensor4D, bias: tf.Tensor): tf.Tensor4D;
}

const TRAINABLE_OPS: LinearOps = {
  conv: (x, filter, pad) => tf.conv2d(x, filter, 1, pad),
  convTranspose: (x, filter, outShape) => tf.conv2dTranspose(x, filter, outShape, 2, 'same'),
  blur: (x, filter) => tf.depthwiseConv2d(x, filter, 1, 'same'),
  addBias: (x, bias) => tf.add(x, bias) as tf.Tensor4D,
};

/** With weights fixed, nothing of the forward pass need be kept for the backward (frozen-ops.ts). */
const FROZEN_OPS: LinearOps = {
  conv: conv2dFrozen,
  convTranspose: conv2dTransposeFrozen,
  blur: depthwiseConv2dFrozen,
  addBias: addFrozenBias,
};

export interface SynthesisOptions {
  /** Raw weights as variables, for training. Default false (inference). */
  readonly trainable?: boolean;
}

export class Synthesis {
  readonly config: SynthesisConfig;
  /** Style/noise inputs: 2 * log2(resolution) - 2. */
  readonly numLayers: number;
  readonly weights: Weights;
  private readonly channels: number[];
  /** Inference only: precomputed per-block tensors (blur filters, fused kernels). */
  private readonly cache = new Map<string, tf.Tensor>();

  private constructor(config: SynthesisConfig, weights: Weights) {
    this.config = config;
    this.numLayers = numLayers(config.resolution);
    this.channels = blockChannels(config);
    this.weights = weights;
    if (!weights.trainable) {
      tf.tidy(() => {
        this.channels.forEach((_, i) => {
          if (i === 0) return;
          for (const [k, v] of Object.entries(this.blockConstants(i))) if (v) this.cache.set(`${i}.${k}`, tf.keep(v));
        });
      });
    }
  }

  /**
   * Builds the network from an official-format state dict (names as in PyTorch).
   * The architecture is read off the tensors unless `config` is given; either way every
   * tensor is checked first, and nothing is allocated for a state dict that fails.
   */
  static fromStateDict(sd: StateDict, source: string, config?: SynthesisConfig, options: SynthesisOptions = {}): Synthesis {
    const cfg = config ?? inferSynthesisConfig(sd, source);
    validateStateDict(sd, synthesisParamSpec(cfg), source);
    return new Synthesis(cfg, new Weights(sd, synthesisWeightSpecs(cfg), options.trainable ?? false, 'synthesis.'));
  }

  private blockConstants(i: number): { blur: tf.Tensor4D; fused?: tf.Tensor4D } {
    const p = `blocks.${blockName(i)}`;
    const c = this.channels[i];
    const blur = tf.tile(tf.reshape(this.weights.get(`${p}.conv0_up.intermediate.kernel`), [3, 3, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const fused = 2 ** (i + 2) >= 128 ? fusedUpscaleFilter(this.weights.get(`${p}.conv0_up.weight`)) : undefined;
    return { blur, fused };
  }

  private epi(prefix: string): EpilogueWeights {
    return {
      noiseWeight: this.weights.get(`${prefix}.noise.weight`) as tf.Tensor1D,
      styleWeight: this.weights.get(`${prefix}.style_mod.lin.weight`) as tf.Tensor2D,
      styleBias: this.weights.get(`${prefix}.style_mod.lin.bias`) as tf.Tensor1D,
    };
  }

  /**
   * dlatents [B, L, 512] and one noise map per layer ([B, s, s, 1] NHWC, or null for none)
   * -> image [B, R, R, 3], roughly in [-1, 1]. `probe` sees every LeakyReLU's input.
   */
  forward(dlatents: tf.Tensor3D, noise: readonly (tf.Tensor4D | null)[], probe?: PreActivationProbe): tf.Tensor4D {
    const [batch, layers, width] = dlatents.shape;
    if (layers !== this.numLayers || width !== this.config.dlatentSize) {
      throw new Error(
        `dlatents have shape [${dlatents.shape.join(', ')}]; this ${this.config.resolution} px generator needs [B, ${this.numLayers}, ${this.config.dlatentSize}]`,
      );
    }
    if (noise.length !== this.numLayers) {
      throw new Error(`got ${noise.length} noise maps; this generator has ${this.numLayers} noise inputs`);
    }
    const w = (name: string) => this.weights.get(name);
    const ops = this.weights.trainable ? TRAINABLE_OPS : FROZEN_OPS;
    return tf.tidy(() => {
      const styles = tf.unstack(dlatents, 1) as tf.Tensor2D[];
      let x: tf.Tensor4D | undefined;
      this.channels.forEach((c, i) => {
        const p = `blocks.${blockName(i)}`;
        const l0 = 2 * i;
        let y: tf.Tensor4D;
        if (i === 0) {
          const constant = tf.add(w(`${p}.const`), w(`${p}.bias`));
          y = tf.tile(constant, [batch, 1, 1, 1]) as tf.Tensor4D;
          y = epilogue(y, styles[l0], noise[l0], this.epi(`${p}.epi1`), probe && { layer: l0, see: probe });
          y = ops.addBias(ops.conv(y, w(`${p}.conv.weight`) as tf.Tensor4D, 'same'), w(`${p}.conv.bias`));
        } else {
          const k = this.weights.trainable ? this.blockConstants(i) : { blur: this.cache.get(`${i}.blur`) as tf.Tensor4D, fused: this.cache.get(`${i}.fused`) as tf.Tensor4D | undefined };
          const inp = x!;
          if (k.fused) {
            const [n, h, ww] = inp.shape;
            y = ops.convTranspose(inp, k.fused, [n, 2 * h, 2 * ww, c]);
          } else {
            y = ops.conv(upscale2x(inp), w(`${p}.conv0_up.weight`) as tf.Tensor4D, 'same');
          }
          y = ops.addBias(ops.blur(y, k.blur), w(`${p}.conv0_up.bias`));
          y = epilogue(y, styles[l0], noise[l0], this.epi(`${p}.epi1`), probe && { layer: l0, see: probe });
          y = ops.addBias(ops.conv(y, w(`${p}.conv1.weight`) as tf.Tensor4D, 'same'), w(`${p}.conv1.bias`));
        }
        x = epilogue(y, styles[l0 + 1], noise[l0 + 1], this.epi(`${p}.epi2`), probe && { layer: l0 + 1, see: probe });
      });
      return ops.addBias(ops.conv(x!, w('torgb.weight') as tf.Tensor4D, 'valid'), w('torgb.bias'));
    });
  }

  /** Official-format state dict (raw values), e.g. to save a trained model. */
  toStateDict(): Promise<StateDict> {
    return this.weights.toStateDict();
  }

  dispose(): void {
    this.weights.dispose();
    tf.dispose([...this.cache.values()]);
    this.cache.clear();
  }
}
