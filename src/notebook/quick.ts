/**
 * How much work a notebook does, and which model it uses, read from the environment so that
 * the same notebook runs in full for research and in seconds in CI.
 *
 * - `PULSE_NOTEBOOK_QUICK=1` (also `true`, `yes`, `on`): quick mode, `QUICK_SCALE`, for CI
 *   and smoke tests (`scripts/run-notebooks.sh` sets it when asked). Unset, empty, `0`,
 *   `false`, `no` or `off`: full mode, `FULL_SCALE`. Anything else is an error naming the
 *   variable, so a typo never silently runs the long version.
 * - `PULSE_NOTEBOOK_MODEL=<model dir or synthesis.pt>`: the model the notebooks load; unset,
 *   the built-in model (`models/default`).
 */
import { defaultModelPath } from '../model/default-model.js';

/** The sizes a notebook scales by. */
export interface NotebookScale {
  /** Different faces (targets) a notebook works on. */
  readonly faces: number;
  /** PULSE solutions per face (`duplicates`), each from its own seed. */
  readonly seeds: number;
  /** PULSE optimisation steps per run (the official default is 100). */
  readonly steps: number;
}

/** Quick mode: one face, one solution, 20 steps (a few seconds per run on 2 CPU cores). */
export const QUICK_SCALE: NotebookScale = Object.freeze({ faces: 1, seeds: 1, steps: 20 });

/** Full mode: the paper's 100 steps, four solutions per face, four faces. */
export const FULL_SCALE: NotebookScale = Object.freeze({ faces: 4, seeds: 4, steps: 100 });

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['', '0', 'false', 'no', 'off']);

type Env = Readonly<Record<string, string | undefined>>;

/** Whether PULSE_NOTEBOOK_QUICK asks for quick mode (see the file comment for the values). */
export function isQuickMode(env: Env = process.env): boolean {
  const raw = env.PULSE_NOTEBOOK_QUICK;
  const value = (raw ?? '').trim().toLowerCase();
  if (TRUE.has(value)) return true;
  if (FALSE.has(value)) return false;
  throw new Error(`PULSE_NOTEBOOK_QUICK=${JSON.stringify(raw)} is not understood; use 1 for quick mode, or 0 / unset for the full run`);
}

/** The scale of this run: `QUICK_SCALE` in quick mode, else `FULL_SCALE`. */
export function notebookScale(env: Env = process.env): NotebookScale {
  return isQuickMode(env) ? QUICK_SCALE : FULL_SCALE;
}

/** The model the notebooks load: PULSE_NOTEBOOK_MODEL when set, else the built-in model. */
export function notebookModelPath(env: Env = process.env): string {
  const fromEnv = (env.PULSE_NOTEBOOK_MODEL ?? '').trim();
  if (fromEnv !== '') return fromEnv;
  try {
    return defaultModelPath();
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`${why}; or set PULSE_NOTEBOOK_MODEL to a model directory for the notebooks`);
  }
}
