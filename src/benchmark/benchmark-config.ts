/**
 * What a benchmark folder is run with: the options of `runBenchmark` (`BenchmarkOptions`) and the
 * checked, resolved config they make (`BenchmarkConfig`, written to benchmark.json; the run ids
 * and the summary read it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { sha256Hex } from '../metrics/niqe-model.js';
import { DEFAULT_PULSE_OPTIONS, type PulseOptions, resolveOptions } from '../pulse/options.js';
import { fileFingerprint, modelFingerprint } from '../model/fingerprint.js';
import type { Shard } from '../run-store/shard.js';
import type { BenchManifest } from './bench-data.js';
import { type BicubicKernel, esrganPlan } from './baselines.js';
import { SAME_PERSON_THRESHOLD } from './identity.js';
import { type BenchMethod, parseMethods } from './methods.js';
import { BENCH_RESULT_VERSION } from './result-line.js';

export const BENCH_CONFIG_FILE = 'benchmark.json';
/** upscaleForNiqe's minimum side (its default): every image gets at least 2 x 2 blocks of 96 px. */
export const NIQE_MIN_SIDE = 192;

/** What a benchmark folder was run with (benchmark.json; the summary reads it). */
export interface BenchmarkConfig {
  readonly version: number;
  /** Absolute bench-data folder. */
  readonly data: string;
  readonly dataManifestSha256: string;
  readonly factor: number;
  readonly size: number;
  readonly lowResolution: number;
  readonly methods: readonly BenchMethod[];
  /** PULSE run seeds (solution k of a run uses seed + k). */
  readonly seeds: readonly number[];
  /** PULSE options (its `seed` is the first run's); null without pulse. */
  readonly pulse: PulseOptions | null;
  /** The PULSE model (resolved path), null without pulse. */
  readonly model: string | null;
  /** Hash of the model's files: part of PULSE's run ids, so another model never reuses results. */
  readonly modelFingerprint: string | null;
  /** The `--gaussian-fit` file (resolved path) that replaces the model's own fit; null without one. */
  readonly gaussianFit: string | null;
  /** Hash of that file's bytes: part of PULSE's run ids, so results made with another fit are never reused. */
  readonly gaussianFitFingerprint: string | null;
  /** Success threshold on the LR-consistency MSE, for every method (PULSE's eps). */
  readonly eps: number;
  readonly identity: boolean;
  readonly sameThreshold: number;
  /**
   * NIQE's pristine model. `params` and `sha256` are null when the run has none: every output's NIQE
   * is then null and `missing` says why (the other measures are unaffected).
   */
  readonly niqe: { readonly params: string | null; readonly sha256: string | null; readonly minSide: number; readonly missing?: string };
  readonly esrgan: { readonly plan: readonly number[]; readonly tile: number } | null;
  /** Bicubic kernel (see baselines.ts). */
  readonly bicubic: BicubicKernel;
}

export interface BenchmarkOptions {
  /** Bench-data folder. */
  readonly data: string;
  readonly out: string;
  /** Methods (`hr` is added). */
  readonly methods: readonly BenchMethod[];
  readonly factor: number;
  /** PULSE run seeds (default [1]). */
  readonly seeds?: readonly number[];
  /** PULSE options (seed ignored; default PULSE's). */
  readonly pulse?: Partial<Omit<PulseOptions, 'seed'>>;
  /** PULSE model (needed with `pulse`). */
  readonly model?: string;
  readonly gaussianFit?: string;
  /**
   * NIQE pristine params (.npz or .json). null: NIQE is not measured (no model here, e.g. offline
   * without ../shared); give the reason in `niqeMissing`. Those runs get their own ids, so a later
   * run with the model measures them again instead of reusing the empty NIQE.
   */
  readonly niqeParams: string | null;
  /** Why `niqeParams` is null (kept in the config and in every output's niqeError). */
  readonly niqeMissing?: string;
  /** Measure identity with face descriptors (default true). */
  readonly identity?: boolean;
  /** ESRGAN tile side in LR px (default 48). */
  readonly esrganTile?: number;
  /** Bicubic kernel: 'matlab' (default) or 'sharp'. */
  readonly bicubic?: BicubicKernel;
  readonly shard?: Shard;
  readonly maxRuns?: number;
  readonly retryFailed?: boolean;
  readonly backend?: string;
  readonly quiet?: boolean;
  readonly log?: (line: string) => void;
}

/** Builds the config (and checks the inputs) without running anything. */
export function benchmarkConfig(options: BenchmarkOptions, manifest: BenchManifest): BenchmarkConfig {
  const methods = parseMethods(options.methods);
  const factor = options.factor;
  if (!manifest.factors.includes(factor)) {
    throw new Error(`the bench data in ${options.data} has factors ${manifest.factors.join(', ')}; --factor ${factor} is not among them`);
  }
  const hasPulse = methods.includes('pulse');
  const seeds = [...(options.seeds ?? [1])];
  if (seeds.length === 0) throw new Error('give at least one seed');
  const pulse = hasPulse ? resolveOptions({ ...options.pulse, seed: seeds[0] }) : null;
  if (hasPulse && !options.model) throw new Error('the pulse method needs --model (a model directory or a synthesis .pt checkpoint)');
  const paramsBytes = options.niqeParams === null ? null : readFileSync(options.niqeParams);
  return {
    version: BENCH_RESULT_VERSION,
    data: resolve(options.data),
    dataManifestSha256: createHash('sha256').update(readFileSync(join(resolve(options.data), 'manifest.json'))).digest('hex'),
    factor,
    size: manifest.size,
    lowResolution: manifest.size / factor,
    methods,
    seeds: hasPulse ? seeds : [],
    pulse,
    model: hasPulse ? resolve(options.model!) : null,
    modelFingerprint: hasPulse ? modelFingerprint(options.model!) : null,
    gaussianFit: hasPulse && options.gaussianFit ? resolve(options.gaussianFit) : null,
    gaussianFitFingerprint: hasPulse && options.gaussianFit ? fileFingerprint(options.gaussianFit, '--gaussian-fit') : null,
    eps: pulse?.eps ?? options.pulse?.eps ?? DEFAULT_PULSE_OPTIONS.eps,
    identity: options.identity ?? true,
    sameThreshold: SAME_PERSON_THRESHOLD,
    niqe:
      options.niqeParams === null || paramsBytes === null
        ? { params: null, sha256: null, minSide: NIQE_MIN_SIDE, missing: options.niqeMissing ?? 'no NIQE model was given' }
        : { params: resolve(options.niqeParams), sha256: sha256Hex(paramsBytes), minSide: NIQE_MIN_SIDE },
    esrgan: methods.includes('esrgan') ? { plan: esrganPlan(factor), tile: options.esrganTile ?? 48 } : null,
    bicubic: options.bicubic ?? 'matlab',
  };
}
