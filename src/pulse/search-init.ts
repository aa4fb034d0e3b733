/**
 * The starting point of a search: a Gaussian latent and one noise map per layer, drawn
 * per solution from its own seed so that solution k of a batch equals a lone run with
 * seed + k.
 */
import { gaussian } from '../util/random.js';
import { noiseSide } from '../stylegan/config.js';
import type { NoiseType } from './options.js';

export interface SearchInit {
  /** [B, L or 1, 512] row-major. */
  readonly latent: Float32Array;
  readonly latentRows: number;
  /** One map per layer, [B, s, s] row-major, or null where the layer gets no noise. */
  readonly noise: (Float32Array | null)[];
}

export interface InitSpec {
  readonly seeds: readonly number[];
  readonly numLayers: number;
  readonly dlatentSize: number;
  readonly tileLatent: boolean;
  readonly noiseType: NoiseType;
  readonly badNoiseLayers: readonly number[];
}

/** True where the official code zeroes a layer's noise. */
export function isZeroNoise(layer: number, noiseType: NoiseType, badNoiseLayers: readonly number[]): boolean {
  return noiseType === 'zero' || badNoiseLayers.includes(layer);
}

export function drawInit(spec: InitSpec): SearchInit {
  const rows = spec.tileLatent ? 1 : spec.numLayers;
  const per = rows * spec.dlatentSize;
  const latent = new Float32Array(spec.seeds.length * per);
  spec.seeds.forEach((s, k) => latent.set(gaussian(`pulse:${s}:latent`, per), k * per));
  const noise: (Float32Array | null)[] = [];
  for (let layer = 0; layer < spec.numLayers; layer++) {
    if (isZeroNoise(layer, spec.noiseType, spec.badNoiseLayers)) {
      noise.push(null);
      continue;
    }
    const side = noiseSide(layer);
    const map = new Float32Array(spec.seeds.length * side * side);
    spec.seeds.forEach((s, k) => map.set(gaussian(`pulse:${s}:noise:${layer}`, side * side), k * side * side));
    noise.push(map);
  }
  return { latent, latentRows: rows, noise };
}
