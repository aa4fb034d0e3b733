/**
 * What a benchmark run records: one JSON line per (face, method, seed) in results.jsonl
 * (`BenchResultLine`, read by src/run-store and src/benchmark/summary.ts), with one `BenchOutput`
 * per output image.
 */
import type { CompactTrace, ResultLine, SolutionResult } from '../experiments/results.js';
import type { PulseOptions } from '../pulse/options.js';
import { type RunLine, isRunLine } from '../run-store/store.js';
import type { IdentityResult } from './identity.js';
import { BENCH_METHODS, type BenchMethod } from './methods.js';

/** Version of the result lines and run ids (a new version never reuses older results). */
export const BENCH_RESULT_VERSION = 1;

/** The measurements of one output image (all on the 8-bit image as saved). */
export interface BenchOutput {
  /** The saved PNG, relative to the benchmark folder. */
  readonly image: string;
  /** Seed of this solution (PULSE: run seed + k; others: 0). */
  readonly seed: number;
  /** NIQE after upscaleForNiqe (null when NIQE is undefined, e.g. a constant image; see niqeError). */
  readonly niqe: number | null;
  readonly niqeError?: string;
  /** The upscaleForNiqe factor applied before NIQE. */
  readonly niqeUpscale: number;
  /** PSNR (dB) against the HR over all RGB values; null when identical (infinite). */
  readonly psnr: number | null;
  /** PSNR on the float Y (BT.601, as ssimY). */
  readonly psnrY: number | null;
  /** SSIM against the HR, mean over RGB channels (scikit-image settings). */
  readonly ssim: number;
  /** SSIM on Y. */
  readonly ssimY: number;
  /** MSE of the output downscaled with PULSE's BicubicDownsampler against the LR input, [0, 1] scale. */
  readonly lrMse: number;
  /** lrMse <= eps. */
  readonly success: boolean;
  /** Identity against the HR (null when identity was not measured). */
  readonly identity: IdentityResult | null;
  /** The 128-d descriptor (6 significant digits), null when no face was found or not measured. */
  readonly descriptor: number[] | null;
}

/**
 * One line per (face, method, seed). Shares ResultLine's fields (so results.ts reads, merges and
 * repairs these files) except `options`, which is null for the methods other than PULSE.
 */
export interface BenchResultLine extends Omit<ResultLine, 'options' | 'solutions' | 'trace'> {
  readonly kind: 'benchmark';
  readonly method: BenchMethod;
  readonly options: PulseOptions | null;
  /** One per output image (PULSE: one per duplicate). */
  readonly outputs?: BenchOutput[];
  /** PULSE's own per-solution outcome (its minimum MSE over the steps, on unrounded images). */
  readonly solutions?: SolutionResult[];
  readonly trace?: CompactTrace;
  /** Seconds spent measuring the outputs (not included in `seconds`). */
  readonly metricSeconds?: number;
}

/** A run-store record that is a benchmark line (the guard the benchmark's run store reads with). */
export function isBenchLine(record: unknown): record is BenchResultLine {
  if (!isRunLine(record) || !('kind' in record) || !('method' in record)) return false;
  return record.kind === 'benchmark' && (BENCH_METHODS as readonly unknown[]).includes(record.method);
}

/** The line as a benchmark line, or null when it is of another kind (notebooks read lines this way). */
export function asBenchLine(line: RunLine): BenchResultLine | null {
  return isBenchLine(line) ? line : null;
}
