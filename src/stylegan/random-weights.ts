/**
 * Fresh weights for the official architecture, as the official modules initialise them
 * (equalised lr: weights ~ N(0, 1), biases 0, constant input 1, noise strengths 0, the
 * [1, 2, 1] blur). Used by benchmarks, tests and training.
 */
import type { StateDict } from '../io/state-dict.js';
import { numel } from '../io/state-dict.js';
import { gaussian } from '../util/random.js';
import { type MappingConfig, type SynthesisConfig, DEFAULT_MAPPING_CONFIG } from './config.js';
import { mappingParamSpec, synthesisParamSpec } from './params.js';

const BLUR = Float32Array.from([1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16));

function initTensor(name: string, shape: readonly number[], seed: string, noiseStrength: number): Float32Array {
  const n = numel(shape);
  if (name.endsWith('.intermediate.kernel')) return BLUR.slice();
  if (name.endsWith('.const')) return new Float32Array(n).fill(1);
  if (name.endsWith('.noise.weight')) return new Float32Array(n).fill(noiseStrength);
  if (name.endsWith('.weight')) return gaussian(`${seed}:${name}`, n);
  if (name === 'blocks.4x4.bias') return new Float32Array(n).fill(1);
  return new Float32Array(n);
}

/**
 * `noiseStrength` sets the per-channel noise weights (0 as in the official init; a
 * benchmark or test may want the noise path to matter).
 */
export function randomSynthesisStateDict(cfg: SynthesisConfig, seed: number | string, noiseStrength = 0): StateDict {
  const sd: StateDict = new Map();
  for (const [name, shape] of synthesisParamSpec(cfg)) sd.set(name, { shape, data: initTensor(name, shape, `synth:${seed}`, noiseStrength) });
  return sd;
}

export function randomMappingStateDict(seed: number | string, cfg: MappingConfig = DEFAULT_MAPPING_CONFIG): StateDict {
  const sd: StateDict = new Map();
  // The official init draws N(0, 1/lrmul^2) so that weight * (he_std * lrmul) has He variance.
  for (const [name, shape] of mappingParamSpec(cfg)) {
    const data = name.endsWith('.weight') ? gaussian(`map:${seed}:${name}`, numel(shape)).map((v) => v / cfg.lrMul) : new Float32Array(numel(shape));
    sd.set(name, { shape, data });
  }
  return sd;
}
