/**
 * An equalised-lr dense layer x W + b with an optional LeakyReLU(0.2): the mapping network's
 * layers (lr multiplier 0.01, applied to weight and bias alike, as the official `G_mapping`
 * does) and the discriminator's head.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type ParamDecl, ZEROS, linearWeight, vector } from '../param-decl.js';
import type { Weights } from '../weights.js';

export interface EqualizedDenseOptions {
  readonly gain: number;
  /** Learning-rate multiplier (default 1). */
  readonly lrMul?: number;
  readonly leakyRelu: boolean;
}

export class EqualizedDense {
  readonly weight: ParamDecl;
  readonly bias: ParamDecl;
  readonly params: readonly ParamDecl[];
  private readonly leakyRelu: boolean;

  /** `name` is the module's official name: its tensors are `<name>.weight` and `<name>.bias`. */
  constructor(name: string, inFeatures: number, outFeatures: number, options: EqualizedDenseOptions) {
    const lrMul = options.lrMul ?? 1;
    this.weight = linearWeight(`${name}.weight`, outFeatures, inFeatures, options.gain, lrMul);
    this.bias = vector(`${name}.bias`, outFeatures, ZEROS, lrMul);
    this.params = [this.weight, this.bias];
    this.leakyRelu = options.leakyRelu;
  }

  forward(x: tf.Tensor2D, weights: Weights): tf.Tensor2D {
    const y = tf.add(tf.matMul(x, weights.get(this.weight.name) as tf.Tensor2D), weights.get(this.bias.name)) as tf.Tensor2D;
    return this.leakyRelu ? (tf.leakyRelu(y, 0.2) as tf.Tensor2D) : y;
  }
}
