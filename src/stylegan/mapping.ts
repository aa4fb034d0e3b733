/**
 * StyleGAN v1 mapping network z -> w (the official `G_mapping`): PixelNorm, then dense
 * layers with LeakyReLU(0.2), equalised lr with multiplier 0.01.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';
import { type MappingConfig, DEFAULT_MAPPING_CONFIG } from './config.js';
import { linearWeight, pixelNorm, scaledVector } from './layers.js';
import { mappingParamSpec, validateStateDict } from './params.js';

export class Mapping {
  readonly config: MappingConfig;
  private readonly layers: { weight: tf.Tensor2D; bias: tf.Tensor1D }[];

  private constructor(config: MappingConfig, layers: { weight: tf.Tensor2D; bias: tf.Tensor1D }[]) {
    this.config = config;
    this.layers = layers;
  }

  static fromStateDict(sd: StateDict, source: string, config: MappingConfig = DEFAULT_MAPPING_CONFIG): Mapping {
    validateStateDict(sd, mappingParamSpec(config), source);
    const layers = [];
    for (let i = 0; i < config.numLayers; i++) {
      const w = sd.get(`dense${i}.weight`)!;
      const gainScale = Math.SQRT2 * w.shape[1] ** -0.5 * config.lrMul;
      layers.push({
        weight: linearWeight(w.data, w.shape, gainScale),
        bias: scaledVector(sd.get(`dense${i}.bias`)!.data, config.lrMul),
      });
    }
    return new Mapping(config, layers);
  }

  /** z [B, 512] -> w [B, 512]. */
  forward(z: tf.Tensor2D): tf.Tensor2D {
    if (z.shape[1] !== this.config.latentSize) {
      throw new Error(`z has shape [${z.shape.join(', ')}]; the mapping network needs [B, ${this.config.latentSize}]`);
    }
    return tf.tidy(() => {
      let x = pixelNorm(z);
      for (const l of this.layers) x = tf.leakyRelu(tf.add(tf.matMul(x, l.weight), l.bias), 0.2) as tf.Tensor2D;
      return x;
    });
  }

  dispose(): void {
    for (const l of this.layers) tf.dispose([l.weight, l.bias]);
  }
}
