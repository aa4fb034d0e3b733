/**
 * PULSE's hyperparameters as command-line flags (the official names in kebab case),
 * parsed into a typed PulseOptions.
 */
import { Command, Option } from 'commander';
import { DEFAULT_PULSE_OPTIONS, NOISE_TYPES, type PulseOptions, parseBadNoiseLayers, resolveOptions } from '../pulse/options.js';
import { OPTIMIZER_NAMES, type OptimizerName } from '../pulse/optimizers.js';
import { SCHEDULE_NAMES, type ScheduleName } from '../pulse/schedules.js';
import { randomSeed } from '../util/random.js';
import type { NoiseType } from '../pulse/options.js';
import { integerFlag, numberFlag } from './flags.js';

const num = (name: string) => numberFlag(name);
const int = (name: string) => integerFlag(name);

export function addPulseOptions(cmd: Command): Command {
  const d = DEFAULT_PULSE_OPTIONS;
  return cmd
    .addOption(new Option('--steps <n>', 'optimisation steps').argParser(int('steps')).default(d.steps))
    .addOption(new Option('--learning-rate <lr>', 'base learning rate').argParser(num('learning-rate')).default(d.learningRate))
    .addOption(new Option('--lr-schedule <name>', 'learning-rate schedule').choices([...SCHEDULE_NAMES]).default(d.lrSchedule))
    .addOption(new Option('--opt <name>', 'optimizer (PyTorch semantics)').choices([...OPTIMIZER_NAMES]).default(d.optimizer))
    .addOption(new Option('--loss <string>', 'loss string: WEIGHT*TERM+..., terms L2, L1, GEOCROSS').default(d.loss))
    .addOption(new Option('--eps <eps>', 'success threshold on the downscaled MSE').argParser(num('eps')).default(d.eps))
    .addOption(new Option('--noise-type <type>', 'noise inputs').choices([...NOISE_TYPES]).default(d.noiseType))
    .addOption(
      new Option('--num-trainable-noise-layers <n>', 'noise layers optimised (trainable noise)')
        .argParser(int('num-trainable-noise-layers'))
        .default(d.numTrainableNoiseLayers),
    )
    .addOption(new Option('--bad-noise-layers <list>', 'dot-separated noise layers set to zero').default(d.badNoiseLayers.join('.')))
    .addOption(new Option('--tile-latent', 'use one latent row for every layer').default(false))
    .addOption(new Option('--seed <n>', 'seed of solution 1; solution k (1-based) uses seed + k - 1; random when absent').argParser(int('seed')))
    .addOption(new Option('--duplicates <n>', 'solutions per input, optimised as one batch').argParser(int('duplicates')).default(d.duplicates));
}

export interface PulseFlagValues {
  steps: number;
  learningRate: number;
  lrSchedule: string;
  opt: string;
  loss: string;
  eps: number;
  noiseType: string;
  numTrainableNoiseLayers: number;
  badNoiseLayers: string;
  tileLatent: boolean;
  seed?: number;
  duplicates: number;
}

export function pulseOptionsFromFlags(v: PulseFlagValues): PulseOptions {
  return resolveOptions({
    steps: v.steps,
    learningRate: v.learningRate,
    lrSchedule: v.lrSchedule as ScheduleName,
    optimizer: v.opt as OptimizerName,
    loss: v.loss,
    eps: v.eps,
    noiseType: v.noiseType as NoiseType,
    numTrainableNoiseLayers: v.numTrainableNoiseLayers,
    badNoiseLayers: parseBadNoiseLayers(v.badNoiseLayers),
    tileLatent: v.tileLatent,
    seed: v.seed ?? randomSeed(),
    duplicates: v.duplicates,
  });
}
