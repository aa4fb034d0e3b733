/**
 * StyleGAN v1 mapping network z -> w (the official `G_mapping`): PixelNorm, then dense
 * layers with LeakyReLU(0.2), equalised lr with multiplier 0.01.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';
import { type MappingConfig, DEFAULT_MAPPING_CONFIG } from './config.js';
import { pixelNorm } from './layers.js';
import { mappingParamSpec, validateStateDict } from './params.js';
import { type WeightSpec, Weights } from './weights.js';

export function mappingWeightSpecs(cfg: MappingConfig): Map<string, WeightSpec> {
  const specs = new Map<string, WeightSpec>();
  for (const [name, shape] of mappingParamSpec(cfg)) {
    specs.set(
      name,
      name.endsWith('.weight')
        ? { layout: 'linear', scale: Math.SQRT2 * shape[1] ** -0.5 * cfg.lrMul, trainable: true }
        : { layout: 'plain', scale: cfg.lrMul, trainable: true },
    );
  }
  return specs;
}

export class Mapping {
  readonly config: MappingConfig;
  readonly weights: Weights;

  private constructor(config: MappingConfig, weights: Weights) {
    this.config = config;
    this.weights = weights;
  }

  static fromStateDict(sd: StateDict, source: string, config: MappingConfig = DEFAULT_MAPPING_CONFIG, options: { trainable?: boolean } = {}): Mapping {
    validateStateDict(sd, mappingParamSpec(config), source);
    return new Mapping(config, new Weights(sd, mappingWeightSpecs(config), options.trainable ?? false, 'mapping.'));
  }

  /** z [B, 512] -> w [B, 512]. */
  forward(z: tf.Tensor2D): tf.Tensor2D {
    if (z.shape[1] !== this.config.latentSize) {
      throw new Error(`z has shape [${z.shape.join(', ')}]; the mapping network needs [B, ${this.config.latentSize}]`);
    }
    return tf.tidy(() => {
      let x = pixelNorm(z);
      for (let i = 0; i < this.config.numLayers; i++) {
        const y = tf.add(tf.matMul(x, this.weights.get(`dense${i}.weight`) as tf.Tensor2D), this.weights.get(`dense${i}.bias`));
        x = tf.leakyRelu(y, 0.2) as tf.Tensor2D;
      }
      return x;
    });
  }

  toStateDict(): Promise<StateDict> {
    return this.weights.toStateDict();
  }

  dispose(): void {
    this.weights.dispose();
  }
}
