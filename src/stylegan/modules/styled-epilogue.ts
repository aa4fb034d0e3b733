/**
 * The parameters of one LayerEpilogue (official `epi1`/`epi2`: per-channel noise strength and
 * the style affine `style_mod.lin`) and the layer that feeds them to the fused epilogue op of
 * layers.ts. The style index is the layer's own: epilogue k reads style k and noise map k.
 * `convBias` names the bias of the conv before it, which it adds itself where that conv leaves
 * it (layers.ts, epilogueTakesConvBias): it reads that weight but does not own it.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { epilogue, epilogueTakesConvBias } from '../layers.js';
import { type ParamDecl, ZEROS, linearWeight, vector } from '../param-decl.js';
import type { Weights } from '../weights.js';
import type { SynthesisInputs, SynthesisLayer } from './synthesis-layer.js';

export class StyledEpilogue implements SynthesisLayer {
  readonly noiseWeight: ParamDecl;
  readonly styleWeight: ParamDecl;
  readonly styleBias: ParamDecl;
  readonly params: readonly ParamDecl[];
  /** Index of this epilogue's style input and noise map. */
  readonly layer: number;

  private readonly convBias?: string;

  constructor(prefix: string, layer: number, channels: number, dlatentSize: number, convBias?: string) {
    this.layer = layer;
    this.convBias = convBias;
    this.noiseWeight = vector(`${prefix}.noise.weight`, channels, { kind: 'noise-strength' });
    // A(w) is [2C, dlatent]: C scales then C shifts; gain 1 as in the official ApplyStyle.
    this.styleWeight = linearWeight(`${prefix}.style_mod.lin.weight`, 2 * channels, dlatentSize, 1);
    this.styleBias = vector(`${prefix}.style_mod.lin.bias`, 2 * channels, ZEROS);
    this.params = [this.noiseWeight, this.styleWeight, this.styleBias];
  }

  forward(x: tf.Tensor4D, weights: Weights, inputs: SynthesisInputs): tf.Tensor4D {
    const epilogueWeights = {
      noiseWeight: weights.get(this.noiseWeight.name) as tf.Tensor1D,
      styleWeight: weights.get(this.styleWeight.name) as tf.Tensor2D,
      styleBias: weights.get(this.styleBias.name) as tf.Tensor1D,
    };
    const probe = inputs.probe && { layer: this.layer, see: inputs.probe };
    // Frozen weights (a search): the noise strength is a constant, and so are the fixed noise maps.
    const constants = weights.trainable ? {} : { noiseWeight: true, noise: inputs.constantNoise?.has(this.layer) ?? false };
    const bias = this.convBias && epilogueTakesConvBias(weights.trainable) ? (weights.get(this.convBias) as tf.Tensor1D) : undefined;
    return epilogue(x, inputs.styles[this.layer], inputs.noise[this.layer], epilogueWeights, probe, constants, bias);
  }
}
