/**
 * PULSE's hyperparameters as one typed object. Defaults are the official ones
 * (adamian98/pulse run.py), except eps, whose paper-table value is 1e-3 and whose
 * recommended command-line value is 2e-3 (the default here).
 */
import { type OptimizerName, OPTIMIZER_NAMES } from './optimizers.js';
import { type ScheduleName, SCHEDULE_NAMES } from './schedules.js';
import { parseLossString } from './loss-string.js';

export const NOISE_TYPES = ['zero', 'fixed', 'trainable'] as const;
export type NoiseType = (typeof NOISE_TYPES)[number];

export interface PulseOptions {
  /** Optimisation steps. Official: 100. */
  readonly steps: number;
  /** Base learning rate. Official: 0.4. */
  readonly learningRate: number;
  /** fixed | linear1cycle | linear1cycledrop. Official: linear1cycledrop. */
  readonly lrSchedule: ScheduleName;
  /** adam | sgd | sgdm | adamax, with PyTorch's semantics. Official: adam. */
  readonly optimizer: OptimizerName;
  /** Loss string `w*TERM+...` over L2, L1, GEOCROSS. Official: 100*L2+0.05*GEOCROSS. */
  readonly loss: string;
  /** Success threshold on the per-image MSE of the downscaled output; also the loss clamp. */
  readonly eps: number;
  /** zero | fixed | trainable noise inputs. Official: trainable. */
  readonly noiseType: NoiseType;
  /** With trainable noise, layers 0..n-1 are optimised. Official: 5. */
  readonly numTrainableNoiseLayers: number;
  /** Noise layers forced to zero (they add artefacts). Official: [17]. */
  readonly badNoiseLayers: readonly number[];
  /** One latent row repeated for every layer instead of L independent rows. Official: false. */
  readonly tileLatent: boolean;
  /** Seed of the first solution; solution k uses seed + k. */
  readonly seed: number;
  /** Solutions per input, optimised together as one batch, each with its own seed. */
  readonly duplicates: number;
}

export const DEFAULT_PULSE_OPTIONS: Omit<PulseOptions, 'seed'> = {
  steps: 100,
  learningRate: 0.4,
  lrSchedule: 'linear1cycledrop',
  optimizer: 'adam',
  loss: '100*L2+0.05*GEOCROSS',
  eps: 2e-3,
  noiseType: 'trainable',
  numTrainableNoiseLayers: 5,
  badNoiseLayers: [17],
  tileLatent: false,
  duplicates: 1,
};

/** Fills defaults and checks every field, naming the option and what would work. */
export function resolveOptions(partial: Partial<PulseOptions> & { seed: number }): PulseOptions {
  const o: PulseOptions = { ...DEFAULT_PULSE_OPTIONS, ...partial };
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`option ${name}=${v} must be a positive integer`);
  };
  positiveInt('steps', o.steps);
  positiveInt('duplicates', o.duplicates);
  if (!(o.learningRate > 0) || !Number.isFinite(o.learningRate)) throw new Error(`option learningRate=${o.learningRate} must be a positive number`);
  if (!(o.eps >= 0) || !Number.isFinite(o.eps)) throw new Error(`option eps=${o.eps} must be a number >= 0 (e.g. 2e-3)`);
  if (!SCHEDULE_NAMES.includes(o.lrSchedule)) throw new Error(`option lrSchedule="${o.lrSchedule}" is not one of: ${SCHEDULE_NAMES.join(', ')}`);
  if (!OPTIMIZER_NAMES.includes(o.optimizer)) throw new Error(`option optimizer="${o.optimizer}" is not one of: ${OPTIMIZER_NAMES.join(', ')}`);
  if (!NOISE_TYPES.includes(o.noiseType)) throw new Error(`option noiseType="${o.noiseType}" is not one of: ${NOISE_TYPES.join(', ')}`);
  if (!Number.isInteger(o.numTrainableNoiseLayers) || o.numTrainableNoiseLayers < 0) {
    throw new Error(`option numTrainableNoiseLayers=${o.numTrainableNoiseLayers} must be an integer >= 0`);
  }
  for (const l of o.badNoiseLayers) if (!Number.isInteger(l) || l < 0) throw new Error(`option badNoiseLayers contains ${l}; layers are integers >= 0`);
  if (!Number.isInteger(o.seed)) throw new Error(`option seed=${o.seed} must be an integer`);
  parseLossString(o.loss);
  return o;
}

/** Parses the official dot-separated form "17" or "3.17"; "" means none. */
export function parseBadNoiseLayers(text: string): number[] {
  if (text.trim() === '') return [];
  return text.split('.').map((s) => {
    const n = Number(s);
    if (s.trim() === '' || !Number.isInteger(n) || n < 0) {
      throw new Error(`bad noise layers "${text}": "${s}" is not a layer index; use dot-separated integers, e.g. "17" or "3.17"`);
    }
    return n;
  });
}
