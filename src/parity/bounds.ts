/**
 * The bounds of ../shared/parity/README.md's tolerance section, per case: the table's bound
 * for the generator's size, raised to 3x the case's calibration value (how far the official
 * code moves that very case under its own variants: threads, oneDNN, a 1e-6 perturbation of
 * the initial latent) where that is larger. Each bound carries where it came from, so a
 * report can print it beside the check.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** CASE/calibration.json (written by the official code's variants; scripts/parity/calibrate-case.py). */
export interface Calibration {
  readonly trace_step_1: number;
  readonly trace_steps_1_5: number;
  readonly trace_whole: number;
  /** ||a-b||/||b|| per end-state file (latent_end, image_end, noise_end_NN). */
  readonly end_state: Readonly<Record<string, number>>;
  readonly variants?: readonly string[];
}

/** A bound and its origin, e.g. "table, <= 256 px" or "3 x calibration 1.28e-4". */
export interface Bound {
  readonly value: number;
  readonly origin: string;
}

/** How many times the official code's own spread an implementation may move. */
export const CALIBRATION_FACTOR = 3;

/** The table of the shared README, by generator size. */
export function tableBounds(resolution: number) {
  const large = resolution >= 512;
  const size = large ? '512-1024 px' : '<= 256 px';
  const t = (value: number): Bound => ({ value, origin: `table, ${size}` });
  return {
    /** synth_out, down_out, mapping_w, dlatents, Gaussian fit: max abs error / scale. */
    tensor: t(1e-4),
    /** geocross_dlatents and the trace's first step: relative. */
    firstStep: t(large ? 3e-5 : 1e-5),
    /** The trace over its first 5 steps: relative, per term. */
    firstFiveSteps: t(large ? 1e-3 : 1e-4),
    /** The whole trace and min_l2: relative, per term. */
    wholeRun: t(1e-2),
    /** latent_end, noise_end_NN, image_end: ||a-b|| / ||b||. */
    endState: t(5e-2),
  } as const;
}

export type TableBounds = ReturnType<typeof tableBounds>;

/** The larger of the table's bound and CALIBRATION_FACTOR x the calibration value. */
export function calibrated(table: Bound, calibration: number | undefined, what: string): Bound {
  if (calibration === undefined || !Number.isFinite(calibration)) return table;
  const value = CALIBRATION_FACTOR * calibration;
  if (value <= table.value) return table;
  return { value, origin: `${CALIBRATION_FACTOR} x calibration ${what} ${calibration.toExponential(2)}` };
}

/** Reads CASE/calibration.json; null when the case has none (then the table alone applies). */
export function readCalibration(dir: string): Calibration | null {
  const file = join(dir, 'calibration.json');
  if (!existsSync(file)) return null;
  let c: Calibration;
  try {
    c = JSON.parse(readFileSync(file, 'utf8')) as Calibration;
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  for (const key of ['trace_step_1', 'trace_steps_1_5', 'trace_whole'] as const) {
    if (typeof c[key] !== 'number' || !(c[key] >= 0)) throw new Error(`${file}: ${key} must be a number >= 0 (got ${String(c[key])})`);
  }
  if (typeof c.end_state !== 'object' || c.end_state === null) throw new Error(`${file}: end_state must be an object of ||a-b||/||b|| per end-state file`);
  return c;
}

/** Every bound a case is judged by. */
export interface CaseBounds {
  /** The table's bounds for this case's size, before calibration. */
  readonly table: TableBounds;
  readonly tensor: Bound;
  readonly geocross: Bound;
  readonly traceStep1: Bound;
  readonly traceSteps1To5: Bound;
  readonly traceWhole: Bound;
  readonly minL2: Bound;
  /** By end-state name (latent_end, image_end, noise_end_NN). */
  endState(name: string): Bound;
}

export function caseBounds(resolution: number, calibration: Calibration | null): CaseBounds {
  const t = tableBounds(resolution);
  const c = calibration;
  return {
    table: t,
    tensor: t.tensor,
    // geocross_dlatents is computed before any step: no variant of the calibration moves it.
    geocross: t.firstStep,
    traceStep1: calibrated(t.firstStep, c?.trace_step_1, 'trace_step_1'),
    traceSteps1To5: calibrated(t.firstFiveSteps, c?.trace_steps_1_5, 'trace_steps_1_5'),
    traceWhole: calibrated(t.wholeRun, c?.trace_whole, 'trace_whole'),
    // min_l2 is the smallest L2 term of the trace: the whole trace's row of the table.
    minL2: calibrated(t.wholeRun, c?.trace_whole, 'trace_whole'),
    endState: (name) => calibrated(t.endState, c?.end_state[name], `end_state.${name}`),
  };
}
