/**
 * StyleGAN v1 mapping network z -> w (the official `G_mapping`): PixelNorm, then dense
 * layers with LeakyReLU(0.2), equalised lr with multiplier 0.01.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { StateDict } from '../io/state-dict.js';
import { type MappingConfig, DEFAULT_MAPPING_CONFIG } from './config.js';
import { pixelNorm } from './layers.js';
import { mappingLayers, mappingParams } from './mapping-layers.js';
import type { EqualizedDense } from './modules/equalized-dense.js';
import { weightSpecsOf } from './param-decl.js';
import { mappingParamSpec, validateStateDict } from './params.js';
import { type WeightSpec, Weights } from './weights.js';

/** Layout, run-time scale and trainability of every mapping tensor, as its layer declares them. */
export function mappingWeightSpecs(cfg: MappingConfig): Map<string, WeightSpec> {
  return weightSpecsOf(mappingParams(cfg));
}

export class Mapping {
  readonly config: MappingConfig;
  readonly weights: Weights;
  private readonly layers: readonly EqualizedDense[];

  private constructor(config: MappingConfig, weights: Weights) {
    this.config = config;
    this.weights = weights;
    this.layers = mappingLayers(config);
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
      for (const layer of this.layers) x = layer.forward(x, this.weights);
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
