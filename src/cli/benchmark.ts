/**
 * `pulse benchmark <bench-data dir> --methods pulse,bicubic,nearest,esrgan --factor 8 --out DIR`:
 * every method on the same LR faces, resumable and shardable, then summary.md / summary.json /
 * distributions/*.csv (src/benchmark/; docs/benchmark.md).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { describePick, pickShard } from '../run-store/shard.js';
import { fetchNiqeParams } from '../metrics/niqe-model.js';
import { BICUBIC_KERNELS, type BicubicKernel } from '../benchmark/baselines.js';
import { BENCH_METHODS, parseMethods } from '../benchmark/methods.js';
import { runBenchmark } from '../benchmark/runner.js';
import { distributionPlots } from '../benchmark/distribution-plots.js';
import { summarizeBenchmark } from '../benchmark/summary.js';
import { addPulseOptions, type PulseFlagValues, pulseOptionsFromFlags } from './options.js';
import { integerFlag, parseSeeds } from './flags.js';
import { backendRequest } from './backend-flag.js';

interface BenchmarkFlags extends PulseFlagValues {
  methods: string;
  model?: string;
  gaussianFit?: string;
  factor: number;
  seeds: string;
  out: string;
  shard?: string;
  maxRuns?: number;
  retryFailed?: boolean;
  niqeParams?: string;
  identity: boolean;
  esrganTile: number;
  bicubic: BicubicKernel;
  summary: boolean;
  summaryOnly?: boolean;
  quiet?: boolean;
}

const int = (name: string, min: number) => integerFlag(name, { min });

/** --niqe-params, else $PULSE_NIQE_PARAMS, else BasicSR's file cached in ~/.cache/pulse-ts (downloaded and hash-checked once). */
export async function resolveNiqeParams(given: string | undefined): Promise<string> {
  if (given) return resolve(given);
  if (process.env.PULSE_NIQE_PARAMS) return resolve(process.env.PULSE_NIQE_PARAMS);
  return fetchNiqeParams(join(homedir(), '.cache', 'pulse-ts'));
}

function announce<T extends Parameters<typeof describePick>[0]>(picked: T): T {
  process.stderr.write(`${describePick(picked)}\n`);
  return picked;
}

export function registerBenchmark(program: Command): void {
  const cmd = program
    .command('benchmark')
    .description('run PULSE and baselines (nearest, bicubic, esrgan) on bench data; NIQE/PSNR/SSIM/LR-consistency/identity table (resumable, shardable)')
    .argument('<data>', 'bench-data folder (from `pulse bench-data`)')
    .requiredOption('--out <dir>', 'results folder (results*.jsonl, images/, summary.md, summary.json, distributions/, figures/)')
    .option('--methods <list>', `comma-separated methods among ${BENCH_METHODS.filter((m) => m !== 'hr').join(', ')} (hr, the reference row, is always added)`, 'pulse,bicubic,nearest,esrgan')
    .addOption(new Option('--factor <k>', 'downscaling factor (one of the bench data factors)').argParser(int('factor', 2)).default(8))
    .option('--seeds <n|list>', 'PULSE runs per face: a count N (seeds seed, seed+d, ..., d = duplicates) or a list "1,5,9"', '1')
    .option('--model <path>', 'PULSE model directory (model.json) or synthesis .pt checkpoint (default: the built-in model)')
    .option('--gaussian-fit <file>', 'Gaussian fit .pt for a PyTorch checkpoint without one')
    .option('--shard <i/n>', 'run only shard i of n (runs whose index mod n is i-1), appending to results.shard-i-of-n.jsonl; default: the Slurm array task or Kubernetes completion index, if any')
    .addOption(new Option('--max-runs <n>', 'stop after n runs (the next call goes on)').argParser(int('max-runs', 0)))
    .option('--retry-failed', 'run again the runs recorded as errors')
    .option('--niqe-params <file>', "NIQE pristine model (BasicSR's niqe_pris_params .npz or .json; default $PULSE_NIQE_PARAMS, else downloaded to ~/.cache/pulse-ts)")
    .option('--no-identity', 'skip the face-descriptor identity measurements')
    .addOption(new Option('--bicubic <kernel>', 'bicubic baseline: matlab (imresize, centre-aligned) or sharp (libvips)').choices([...BICUBIC_KERNELS]).default('matlab'))
    .addOption(new Option('--esrgan-tile <px>', 'ESRGAN tile side in LR pixels').argParser(int('esrgan-tile', 1)).default(48))
    .option('--no-summary', 'do not write the summary after running')
    .option('--summary-only', 'only merge the results (all shards) into the summary')
    .option('--quiet', 'no progress bar');
  addPulseOptions(cmd).action(async (data: string, flags: BenchmarkFlags, command: Command) => {
    if (flags.summaryOnly) {
      const { markdownPath } = await summarizeBenchmark(flags.out, { plot: distributionPlots });
      process.stdout.write(`${markdownPath}\n`);
      return;
    }
    const base = flags.seed ?? 1; // reproducible by default (not random as in `pulse upsample`)
    const { seed: _seed, ...pulse } = pulseOptionsFromFlags({ ...flags, seed: base });
    const methods = parseMethods(flags.methods);
    let model = flags.model;
    if (methods.includes('pulse') && !model) {
      const { defaultModelPath } = await import('../model/default-model.js');
      model = defaultModelPath();
    }
    const report = await runBenchmark({
      data,
      out: flags.out,
      methods,
      factor: flags.factor,
      seeds: parseSeeds('seeds', flags.seeds, base, pulse.duplicates),
      pulse,
      model,
      gaussianFit: flags.gaussianFit,
      niqeParams: await resolveNiqeParams(flags.niqeParams),
      identity: flags.identity,
      esrganTile: flags.esrganTile,
      bicubic: flags.bicubic,
      shard: announce(pickShard(flags.shard, process.env)).shard,
      maxRuns: flags.maxRuns,
      retryFailed: flags.retryFailed,
      backend: backendRequest(command),
      quiet: flags.quiet,
    });
    const times = Object.entries(report.secondsPerImage).map(([m, s]) => `${m} ${s!.toFixed(3)} s`);
    if (times.length) process.stderr.write(`time per image (method only): ${times.join(', ')}\n`);
    if (flags.summary) {
      const { markdownPath } = await summarizeBenchmark(flags.out, { plot: distributionPlots });
      process.stdout.write(`${markdownPath}\n`);
    }
    process.exitCode = report.failed > 0 ? 1 : 0;
  });
}
