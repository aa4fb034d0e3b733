/**
 * Experiment results: the line of one finished run (kept in a run store, src/run-store/store.ts:
 * one JSON line per run, appended, torn lines detected and cut), the per-grid-point summary and
 * a small CSV writer.
 */
import type { PulseOptions } from '../pulse/options.js';
import type { PulseResult } from '../pulse/run.js';
import { type AllRuns, isRunLine, readAllRuns } from '../run-store/store.js';
import { finiteMedian } from '../util/stats.js';

/** Version of the result line format. */
export const RESULT_VERSION = 1;

export interface SolutionResult {
  /** Seed of this solution (run seed + k). */
  readonly seed: number;
  /** minMse <= eps. */
  readonly success: boolean;
  /** Smallest per-step MSE of the downscaled output against the LR target. */
  readonly minMse: number;
  /** MSE at the last step. */
  readonly finalMse: number;
  /** First step index whose MSE <= eps (= gradient updates applied before that image), or null. */
  readonly stepsToEps: number | null;
  /** Saved HR output and its downscaled check, relative to the results folder (saveImages only). */
  readonly image?: string;
  readonly downscaled?: string;
}

/** Per-step trace, one array per quantity (6 significant digits). */
export interface CompactTrace {
  readonly lr: number[];
  /** Weighted sum of the loss terms. */
  readonly TOTAL: number[];
  /** Each loss term of the loss string, as PULSE logs it (eps-clamped, summed over the batch). */
  readonly L2?: number[];
  readonly L1?: number[];
  readonly GEOCROSS?: number[];
  /** Per solution, the unclamped MSE at every step: mse[k][step]. */
  readonly mse: number[][];
}

export interface ResultLine {
  readonly v: number;
  readonly id: string;
  readonly experiment: string;
  /** Position in the whole grid when it ran (informational; the id is what identifies a run). */
  readonly index: number;
  readonly image: string;
  readonly imagePath: string;
  readonly seed: number;
  /** The grid values of this run. */
  readonly point: Record<string, unknown>;
  /** The run's full PULSE options. */
  readonly options: PulseOptions;
  readonly status: 'ok' | 'error';
  readonly error?: string;
  /** "i/n" of the process that ran it, or null. */
  readonly shard: string | null;
  readonly backend: string | null;
  readonly model: string;
  readonly factor: number;
  readonly resolution?: number;
  readonly lowResolution?: number;
  /** PULSE's own time (ok), or the time until the error. */
  readonly seconds: number;
  readonly finishedAt: string;
  readonly solutions?: SolutionResult[];
  readonly trace?: CompactTrace;
  readonly notices?: string[];
}

// ---------------------------------------------------------------------------------------------
// Files (the generic store is src/run-store/store.ts)

/** A run-store record that is an experiment line (the store checks id, status and seed). */
export function isResultLine(record: unknown): record is ResultLine {
  return isRunLine(record);
}

/** All experiment lines of a folder, one per run id (see readAllRuns). */
export function readAllResults(dir: string, warn: (message: string) => void = () => {}): AllRuns<ResultLine> {
  return readAllRuns(dir, isResultLine, warn);
}

// ---------------------------------------------------------------------------------------------
// Building a line

const sig = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

/** The per-step trace of a PULSE result, column-wise. */
export function compactTrace(result: PulseResult): CompactTrace {
  const t = result.trace;
  const terms: Record<string, number[]> = {};
  for (const name of ['L2', 'L1', 'GEOCROSS'] as const) {
    if (t.length > 0 && t[0].terms[name] !== undefined) terms[name] = t.map((s) => sig(s.terms[name]!));
  }
  return {
    lr: t.map((s) => sig(s.lr)),
    TOTAL: t.map((s) => sig(s.total)),
    ...terms,
    mse: Array.from({ length: result.batch }, (_, k) => t.map((s) => sig(s.mse[k]))),
  };
}

/** Per-solution outcome of a result. */
export function solutionResults(result: PulseResult, eps: number, images?: { image: string; downscaled: string }[]): SolutionResult[] {
  const last = result.trace[result.trace.length - 1];
  return result.seeds.map((seed, k) => {
    const hit = result.trace.findIndex((s) => s.mse[k] <= eps);
    return {
      seed,
      success: result.success[k],
      minMse: result.minMse[k],
      finalMse: last.mse[k],
      stepsToEps: hit < 0 ? null : result.trace[hit].step,
      ...(images?.[k] ? images[k] : {}),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Summary

export interface PointSummary {
  /** The grid values. */
  readonly point: Record<string, unknown>;
  /** Runs of this point in the grid. */
  readonly runs: number;
  /** Finished runs (status ok). */
  readonly finished: number;
  readonly failed: number;
  /** Not run yet. */
  readonly missing: number;
  /** Solutions of the finished runs (runs x duplicates). */
  readonly solutions: number;
  readonly succeeded: number;
  /** succeeded / solutions (null without solutions). */
  readonly successRate: number | null;
  /** Over solutions: the MSE at the last step. */
  readonly medianFinalL2: number | null;
  readonly meanFinalL2: number | null;
  /** Over solutions: the smallest MSE over the steps. */
  readonly medianMinL2: number | null;
  readonly meanMinL2: number | null;
  /** Over finished runs. */
  readonly meanSeconds: number | null;
  /** Over the solutions that met eps. */
  readonly meanStepsToEps: number | null;
}

export interface RunRef {
  readonly id: string;
  readonly point: Readonly<Record<string, unknown>>;
  readonly pointKey: string;
}

/** Groups the results of `runs` by grid point (in grid order). */
export function summarizePoints(runs: readonly RunRef[], results: ReadonlyMap<string, ResultLine>): PointSummary[] {
  const groups = new Map<string, { point: Record<string, unknown>; runs: RunRef[] }>();
  for (const r of runs) {
    let g = groups.get(r.pointKey);
    if (!g) groups.set(r.pointKey, (g = { point: { ...r.point }, runs: [] }));
    g.runs.push(r);
  }
  return [...groups.values()].map(({ point, runs: rs }) => {
    const lines = rs.map((r) => results.get(r.id)).filter((l): l is ResultLine => l !== undefined);
    const ok = lines.filter((l) => l.status === 'ok');
    const sols = ok.flatMap((l) => l.solutions ?? []);
    const met = sols.map((s) => s.stepsToEps).filter((s): s is number => s !== null);
    const succeeded = sols.filter((s) => s.success).length;
    return {
      point,
      runs: rs.length,
      finished: ok.length,
      failed: lines.length - ok.length,
      missing: rs.length - lines.length,
      solutions: sols.length,
      succeeded,
      successRate: sols.length ? succeeded / sols.length : null,
      medianFinalL2: finiteMedian(sols.map((s) => s.finalMse)),
      meanFinalL2: mean(sols.map((s) => s.finalMse)),
      medianMinL2: finiteMedian(sols.map((s) => s.minMse)),
      meanMinL2: mean(sols.map((s) => s.minMse)),
      meanSeconds: mean(ok.map((l) => l.seconds)),
      meanStepsToEps: mean(met),
    };
  });
}

export const SUMMARY_COLUMNS = [
  'n_runs',
  'n_failed',
  'n_missing',
  'n_solutions',
  'success_rate',
  'median_final_l2',
  'mean_final_l2',
  'median_min_l2',
  'mean_min_l2',
  'mean_seconds',
  'mean_steps_to_eps',
] as const;

/** summary.csv: one column per grid key, then SUMMARY_COLUMNS. */
export function summaryCsv(gridKeys: readonly string[], points: readonly PointSummary[]): string {
  const header = [...gridKeys, ...SUMMARY_COLUMNS];
  const rows = points.map((p) => [
    ...gridKeys.map((k) => {
      const v = p.point[k];
      return typeof v === 'string' ? v : JSON.stringify(v);
    }),
    p.finished,
    p.failed,
    p.missing,
    p.solutions,
    p.successRate,
    p.medianFinalL2,
    p.meanFinalL2,
    p.medianMinL2,
    p.meanMinL2,
    p.meanSeconds,
    p.meanStepsToEps,
  ]);
  return toCsv([header, ...rows]);
}

/** RFC 4180 CSV: fields with a comma, quote, CR/LF or edge spaces are quoted, quotes doubled; null/NaN empty. */
export function toCsv(rows: readonly (readonly unknown[])[]): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const s = typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : JSON.stringify(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function mean(values: readonly number[]): number | null {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}
