/** The 4x4 block's learned constant input plus its bias (official `blocks.4x4.const`, `.bias`). */
import * as tf from '@tensorflow/tfjs-core';
import { type ParamDecl, vector } from '../param-decl.js';
import type { Weights } from '../weights.js';

export class ConstInput {
  readonly constant: ParamDecl;
  readonly bias: ParamDecl;
  readonly params: readonly ParamDecl[];

  constructor(prefix: string, channels: number) {
    // The official module initialises both to ones; neither has a run-time scale.
    this.constant = { name: `${prefix}.const`, shape: [1, channels, 4, 4], layout: 'const', scale: 1, trainable: true, init: { kind: 'constant', value: 1 } };
    this.bias = vector(`${prefix}.bias`, channels, { kind: 'constant', value: 1 });
    this.params = [this.constant, this.bias];
  }

  /** The constant repeated over the batch, [B, 4, 4, C]. */
  forward(batch: number, weights: Weights): tf.Tensor4D {
    const constant = tf.add(weights.get(this.constant.name), weights.get(this.bias.name));
    return tf.tile(constant, [batch, 1, 1, 1]) as tf.Tensor4D;
  }
}
