/**
 * An equalised-lr convolution (official `MyConv2d`-style: weight N(0, 1) scaled by He at run
 * time, bias 0), stride 1, optionally without bias or followed by LeakyReLU(0.2). The
 * synthesis convs and toRGB use it, and so does the training discriminator.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type ParamDecl, ZEROS, convWeight, vector } from '../param-decl.js';
import type { Weights } from '../weights.js';
import { conv2dWinogradFrozen, linearOps } from '../frozen-ops.js';
import { inputGradientFilter } from '../conv-input-gradient.js';
import { winogradFilter, winogradSupports } from '../../backend/winograd-addon.js';
import { epilogueTakesConvBias } from '../layers.js';
import type { SynthesisLayer } from './synthesis-layer.js';

export interface EqualizedConvOptions {
  readonly kernel: number;
  /** He gain: sqrt(2) before a LeakyReLU, 1 before a linear output. */
  readonly gain: number;
  /** 'same' everywhere except toRGB, whose official 1x1 conv is written with 'valid'. */
  readonly padding: 'same' | 'valid';
  /** Default true. */
  readonly bias?: boolean;
  /** LeakyReLU(0.2) after the bias (the discriminator; synthesis convs leave it to the epilogue). */
  readonly leakyRelu?: boolean;
  /** The side of the maps it runs on, where fixed (the synthesis network's): a search takes the Winograd ops from WINOGRAD_MIN_SIDE up. */
  readonly side?: number;
  /** An epilogue follows that adds this conv's bias itself where it can (layers.ts, epilogueTakesConvBias). Default false. */
  readonly biasToEpilogue?: boolean;
}

export class EqualizedConv2d implements SynthesisLayer {
  readonly weight: ParamDecl;
  readonly bias?: ParamDecl;
  readonly params: readonly ParamDecl[];
  private readonly padding: 'same' | 'valid';
  private readonly leakyRelu: boolean;
  private readonly side: number;
  private readonly biasToEpilogue: boolean;
  /** Inference only: the input-gradient filter of the frozen conv (frozen-ops.ts), made by prepare(). */
  private gradientFilter?: tf.Tensor4D;
  /** Inference only, where the Winograd ops run this conv: the filter in their domain (it serves the backward too). */
  private winogradFilter?: tf.Tensor;

  /** `name` is the module's official name: its tensors are `<name>.weight` and `<name>.bias`. */
  constructor(name: string, inChannels: number, outChannels: number, options: EqualizedConvOptions) {
    this.weight = convWeight(`${name}.weight`, outChannels, inChannels, options.kernel, options.gain);
    if (options.bias ?? true) this.bias = vector(`${name}.bias`, outChannels, ZEROS);
    this.params = this.bias ? [this.weight, this.bias] : [this.weight];
    this.padding = options.padding;
    this.leakyRelu = options.leakyRelu ?? false;
    this.side = options.side ?? 0;
    this.biasToEpilogue = options.biasToEpilogue ?? false;
  }

  prepare(weights: Weights): readonly string[] {
    this.dispose();
    const filter = weights.get(this.weight.name) as tf.Tensor4D;
    // The Winograd filter replaces the filter and its input-gradient filter: both passes read it.
    if (winogradSupports(filter.shape, this.padding, this.side)) {
      this.winogradFilter = tf.keep(winogradFilter(filter));
      return [this.weight.name];
    }
    this.gradientFilter = tf.keep(inputGradientFilter(filter));
    return [];
  }

  forward(x: tf.Tensor4D, weights: Weights): tf.Tensor4D {
    const ops = linearOps(weights.trainable);
    // With the Winograd filter the raw one is released (prepare()): read it only on the other path.
    let y =
      !weights.trainable && this.winogradFilter
        ? conv2dWinogradFrozen(x, this.winogradFilter)
        : ops.conv(x, weights.get(this.weight.name) as tf.Tensor4D, this.padding, weights.trainable ? undefined : this.gradientFilter);
    if (this.bias && !(this.biasToEpilogue && epilogueTakesConvBias(weights.trainable))) y = ops.addBias(y, weights.get(this.bias.name));
    return this.leakyRelu ? tf.leakyRelu(y, 0.2) : y;
  }

  dispose(): void {
    this.gradientFilter?.dispose();
    this.gradientFilter = undefined;
    this.winogradFilter?.dispose();
    this.winogradFilter = undefined;
  }
}
