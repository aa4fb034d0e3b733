/**
 * Fresh weights for the official architecture, as the official modules initialise them
 * (each parameter's declared initialiser: equalised-lr weights ~ N(0, 1), biases 0, constant
 * input 1, noise strengths 0, the [1, 2, 1] blur). Used by benchmarks, tests and training.
 */
import type { StateDict } from '../io/state-dict.js';
import { numel } from '../io/state-dict.js';
import { gaussian } from '../util/random.js';
import { type MappingConfig, type SynthesisConfig, DEFAULT_MAPPING_CONFIG } from './config.js';
import { mappingParams } from './mapping-layers.js';
import type { ParamDecl } from './param-decl.js';
import { synthesisParams } from './synthesis-layers.js';

/**
 * One parameter's initial values. Random draws are seeded by `<networkSeed>:<official name>`,
 * so every tensor's values stay the same whatever else the network holds.
 */
function initialValues(param: ParamDecl, networkSeed: string, noiseStrength: number): Float32Array {
  const n = numel(param.shape);
  const init = param.init;
  switch (init.kind) {
    case 'normal': {
      const draw = gaussian(`${networkSeed}:${param.name}`, n);
      return init.divisor === 1 ? draw : draw.map((v) => v / init.divisor);
    }
    case 'constant':
      return new Float32Array(n).fill(init.value);
    case 'noise-strength':
      return new Float32Array(n).fill(noiseStrength);
    case 'values':
      return init.values.slice();
  }
}

/** A state dict of declared parameters at their initial values. */
export function initialStateDict(params: readonly ParamDecl[], networkSeed: string, noiseStrength = 0): StateDict {
  const sd: StateDict = new Map();
  for (const p of params) sd.set(p.name, { shape: [...p.shape], data: initialValues(p, networkSeed, noiseStrength) });
  return sd;
}

/**
 * `noiseStrength` sets the per-channel noise weights (0 as in the official init; a
 * benchmark or test may want the noise path to matter).
 */
export function randomSynthesisStateDict(cfg: SynthesisConfig, seed: number | string, noiseStrength = 0): StateDict {
  return initialStateDict(synthesisParams(cfg), `synth:${seed}`, noiseStrength);
}

export function randomMappingStateDict(seed: number | string, cfg: MappingConfig = DEFAULT_MAPPING_CONFIG): StateDict {
  return initialStateDict(mappingParams(cfg), `map:${seed}`);
}
