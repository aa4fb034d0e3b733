/**
 * `pulse benchmark`: every method on every face of a bench-data folder (src/benchmark/bench-data.ts),
 * at one factor, with the same LR inputs, resumably and optionally sharded.
 *
 * Runs, in a fixed order: for each face (manifest order), for each method (as listed, `hr` first),
 * for each seed (PULSE: every seed of the config; the deterministic methods: seed 0 only). Each
 * run has an id that hashes what it computes (face and file hashes, method, seed, factor and the
 * method's settings: `benchRunId`), so a resumed or re-ordered benchmark never renames a run. The
 * run loop and store of src/run-store (loop.ts, store.ts) do the rest: every finished run appends one
 * JSON line (`BenchResultLine`; one write + fsync, a torn last line cut before appending) to
 * `results.jsonl`, or `results.shard-i-of-n.jsonl` for shard i/n (runs whose index mod n is i-1);
 * runs with a line in any results file of the folder are skipped (errors too, unless
 * retryFailed); one process per results file (a lock file).
 *
 * Methods: `hr` (the HR itself: the reference row of the table), `nearest`, `bicubic`, `esrgan`
 * (src/benchmark/baselines.ts), `pulse` (src/pulse/run.ts, one run per seed; `duplicates`
 * solutions per run). Each output is saved as a PNG (torchvision rounding) under
 * `images/<method>/` and measured as saved (8-bit): NIQE after upscaleForNiqe, PSNR and SSIM
 * against the HR, LR-consistency MSE (the output downscaled with PULSE's BicubicDownsampler
 * against the LR input, both on [0, 1]; success = MSE <= eps, the PULSE criterion, for every
 * method alike), and the identity distance to the HR (src/benchmark/identity.ts).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadNiqeParams } from '../metrics/niqe-model.js';
import { type RunLoopReport, runPending } from '../run-store/loop.js';
import { shardLabel } from '../run-store/shard.js';
import { writeJsonAtomic } from '../util/files.js';
import { readBenchManifest } from './bench-data.js';
import { BENCH_CONFIG_FILE, type BenchmarkConfig, type BenchmarkOptions, benchmarkConfig } from './benchmark-config.js';
import type { BenchMethod } from './methods.js';
import { type BenchRun, planBenchmark } from './plan.js';
import { type BenchResultLine, isBenchLine } from './result-line.js';
import { openBenchmarkSession } from './session.js';

export interface BenchmarkReport extends RunLoopReport<BenchRun> {
  readonly config: BenchmarkConfig;
  /** Mean seconds per output image of the runs done now, by method (method time only). */
  readonly secondsPerImage: Partial<Record<BenchMethod, number>>;
}

const stderrLog = (line: string) => void process.stderr.write(`${line}\n`);

/** Runs (the pending runs of one shard of) a benchmark; see the module comment. */
export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const log = options.log ?? stderrLog;
  if (options.maxRuns !== undefined && (!Number.isInteger(options.maxRuns) || options.maxRuns < 0)) {
    throw new Error(`maxRuns=${options.maxRuns} must be an integer >= 0`);
  }
  const dataDir = resolve(options.data);
  const out = resolve(options.out);
  const manifest = readBenchManifest(dataDir);
  const config = benchmarkConfig(options, manifest);
  const niqeParams = config.niqe.params === null ? null : loadNiqeParams(config.niqe.params);
  const all = planBenchmark(manifest, config);
  mkdirSync(out, { recursive: true });
  writeJsonAtomic(join(out, BENCH_CONFIG_FILE), config, true);
  const perImage = new Map<BenchMethod, number[]>();
  const report = await runPending<BenchRun, BenchResultLine>(
    { name: 'benchmark', dir: out, runs: all, shard: options.shard, maxRuns: options.maxRuns, retryFailed: options.retryFailed, isLine: isBenchLine, log },
    () => openBenchmarkSession({ options, manifest, config, dataDir, out, niqeParams, total: all.length, perImage, log }),
  );
  const secondsPerImage: Partial<Record<BenchMethod, number>> = {};
  for (const [m, v] of perImage) secondsPerImage[m] = v.reduce((a, b) => a + b, 0) / v.length;
  if (report.ran > 0 || report.remaining > 0) {
    const shardText = shardLabel(options.shard);
    log(
      `benchmark: ran ${report.ran} runs (${report.failed} failed); ${report.remaining} of ${report.runs.length}${shardText ? ` in shard ${shardText}` : ''} still to run; results in ${report.resultsFile}`,
    );
  }
  return { config, ...report, secondsPerImage };
}
