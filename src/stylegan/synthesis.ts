/**
 * StyleGAN v1 synthesis network (the official PULSE `G_synthesis`), NHWC on tfjs.
 *
 * Built once from a validated state dict; equalised-lr scales are folded into the weights
 * at load, and the fused 4x4 upscale kernels are precomputed, so a forward pass allocates
 * only activations.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';
import { type SynthesisConfig, blockChannels, blockName, numLayers } from './config.js';
import {
  type EpilogueWeights,
  convFilter,
  epilogue,
  fusedUpscaleKernel,
  linearWeight,
  scaledVector,
  upscale2x,
} from './layers.js';
import { inferSynthesisConfig, synthesisParamSpec, validateStateDict } from './params.js';

const SQRT2 = Math.SQRT2;

interface InputBlockWeights {
  readonly kind: 'input';
  readonly constant: tf.Tensor4D; // [1, 4, 4, C], const + bias
  readonly epi1: EpilogueWeights;
  readonly conv: tf.Tensor4D;
  readonly convBias: tf.Tensor1D;
  readonly epi2: EpilogueWeights;
}

interface UpBlockWeights {
  readonly kind: 'up';
  /** true: fused transposed conv (output side >= 128), as the official code switches. */
  readonly fused: boolean;
  readonly conv0: tf.Tensor4D; // [3,3,in,out] or fused [4,4,out,in]
  readonly conv0Bias: tf.Tensor1D;
  readonly blur: tf.Tensor4D; // [3, 3, C, 1] depthwise
  readonly epi1: EpilogueWeights;
  readonly conv1: tf.Tensor4D;
  readonly conv1Bias: tf.Tensor1D;
  readonly epi2: EpilogueWeights;
  readonly outChannels: number;
}

type BlockWeights = InputBlockWeights | UpBlockWeights;

/** He-init constant of an equalised conv/linear layer: gain / sqrt(fan_in). */
function heScale(fanIn: number, gain: number): number {
  return gain * fanIn ** -0.5;
}

export class Synthesis {
  readonly config: SynthesisConfig;
  /** Style/noise inputs: 2 * log2(resolution) - 2. */
  readonly numLayers: number;
  private readonly blocks: BlockWeights[];
  private readonly toRgb: tf.Tensor4D;
  private readonly toRgbBias: tf.Tensor1D;

  private constructor(config: SynthesisConfig, blocks: BlockWeights[], toRgb: tf.Tensor4D, toRgbBias: tf.Tensor1D) {
    this.config = config;
    this.numLayers = numLayers(config.resolution);
    this.blocks = blocks;
    this.toRgb = toRgb;
    this.toRgbBias = toRgbBias;
  }

  /**
   * Builds the network from an official-format state dict (names as in PyTorch).
   * The architecture is read off the tensors unless `config` is given; either way every
   * tensor is checked first, and nothing is allocated for a state dict that fails.
   */
  static fromStateDict(sd: StateDict, source: string, config?: SynthesisConfig): Synthesis {
    const cfg = config ?? inferSynthesisConfig(sd, source);
    validateStateDict(sd, synthesisParamSpec(cfg), source);
    const get = (name: string) => sd.get(name)!;
    const epi = (prefix: string): EpilogueWeights => {
      const w = get(`${prefix}.style_mod.lin.weight`);
      return {
        noiseWeight: tf.tensor1d(get(`${prefix}.noise.weight`).data),
        styleWeight: linearWeight(w.data, w.shape, heScale(w.shape[1], 1)),
        styleBias: tf.tensor1d(get(`${prefix}.style_mod.lin.bias`).data),
      };
    };
    const channels = blockChannels(cfg);
    const blocks: BlockWeights[] = channels.map((c, i): BlockWeights => {
      const p = `blocks.${blockName(i)}`;
      if (i === 0) {
        const constT = get(`${p}.const`);
        const bias = get(`${p}.bias`);
        const nhwc = new Float32Array(16 * c);
        for (let ch = 0; ch < c; ch++) for (let k = 0; k < 16; k++) nhwc[k * c + ch] = constT.data[ch * 16 + k] + bias.data[ch];
        const conv = get(`${p}.conv.weight`);
        return {
          kind: 'input',
          constant: tf.tensor4d(nhwc, [1, 4, 4, c]),
          epi1: epi(`${p}.epi1`),
          conv: convFilter(conv.data, conv.shape, heScale(c * 9, SQRT2)),
          convBias: tf.tensor1d(get(`${p}.conv.bias`).data),
          epi2: epi(`${p}.epi2`),
        };
      }
      const inC = channels[i - 1];
      const outSide = 2 ** (i + 2);
      const fused = outSide >= 128;
      const w0 = get(`${p}.conv0_up.weight`);
      const scale0 = heScale(inC * 9, SQRT2);
      const conv0 = fused
        ? fusedUpscaleKernel(w0.data.map((v) => Math.fround(v * Math.fround(scale0))), c, inC)
        : convFilter(w0.data, w0.shape, scale0);
      const blurK = get(`${p}.conv0_up.intermediate.kernel`).data;
      const blur = tf.tidy(() => tf.tile(tf.reshape(tf.tensor1d(blurK), [3, 3, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D);
      const w1 = get(`${p}.conv1.weight`);
      return {
        kind: 'up',
        fused,
        conv0,
        conv0Bias: tf.tensor1d(get(`${p}.conv0_up.bias`).data),
        blur,
        epi1: epi(`${p}.epi1`),
        conv1: convFilter(w1.data, w1.shape, heScale(c * 9, SQRT2)),
        conv1Bias: tf.tensor1d(get(`${p}.conv1.bias`).data),
        epi2: epi(`${p}.epi2`),
        outChannels: c,
      };
    });
    const rgb = get('torgb.weight');
    const toRgb = convFilter(rgb.data, rgb.shape, heScale(rgb.shape[1], 1));
    const toRgbBias = tf.tensor1d(get('torgb.bias').data);
    return new Synthesis(cfg, blocks, toRgb, toRgbBias);
  }

  /**
   * dlatents [B, L, 512] and one noise map per layer ([B, s, s, 1] NHWC, or null for none)
   * -> image [B, R, R, 3], roughly in [-1, 1].
   */
  forward(dlatents: tf.Tensor3D, noise: readonly (tf.Tensor4D | null)[]): tf.Tensor4D {
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
      const styles = tf.unstack(dlatents, 1) as tf.Tensor2D[];
      let x: tf.Tensor4D | undefined;
      this.blocks.forEach((b, i) => {
        const l0 = 2 * i;
        if (b.kind === 'input') {
          let y: tf.Tensor4D = tf.tile(b.constant, [batch, 1, 1, 1]);
          y = epilogue(y, styles[l0], noise[l0], b.epi1);
          y = tf.add(tf.conv2d(y, b.conv, 1, 'same'), b.convBias);
          x = epilogue(y, styles[l0 + 1], noise[l0 + 1], b.epi2);
        } else {
          const inp = x!;
          let y: tf.Tensor4D;
          if (b.fused) {
            const [n, h, w] = inp.shape;
            y = tf.conv2dTranspose(inp, b.conv0, [n, 2 * h, 2 * w, b.outChannels], 2, 'same');
          } else {
            y = tf.conv2d(upscale2x(inp), b.conv0, 1, 'same');
          }
          y = tf.depthwiseConv2d(y, b.blur, 1, 'same');
          y = tf.add(y, b.conv0Bias);
          y = epilogue(y, styles[l0], noise[l0], b.epi1);
          y = tf.add(tf.conv2d(y, b.conv1, 1, 'same'), b.conv1Bias);
          x = epilogue(y, styles[l0 + 1], noise[l0 + 1], b.epi2);
        }
      });
      return tf.add(tf.conv2d(x!, this.toRgb, 1, 'valid'), this.toRgbBias) as tf.Tensor4D;
    });
  }

  dispose(): void {
    const all: tf.Tensor[] = [this.toRgb, this.toRgbBias];
    for (const b of this.blocks) {
      const epis = [b.epi1, b.epi2];
      for (const e of epis) all.push(e.noiseWeight, e.styleWeight, e.styleBias);
      if (b.kind === 'input') all.push(b.constant, b.conv, b.convBias);
      else all.push(b.conv0, b.conv0Bias, b.blur, b.conv1, b.conv1Bias);
    }
    tf.dispose(all);
  }
}
