/**
 * Running the ablation of notebooks/03-ablations.ipynb on the experiment runner: one parsed
 * experiment config per knob (src/notebook/ablation.ts `ablationConfigs`), their planned runs,
 * one quiet pass over all of them (a second pass finds every run finished and runs nothing), and
 * the saved images to show per knob.
 */
import { type ExperimentConfig, parseExperimentConfig } from '../experiments/config.js';
import type { RunSpec } from '../experiments/grid.js';
import type { ResultLine } from '../experiments/results.js';
import { planExperiment, runExperiment } from '../experiments/runner.js';
import { type AblationAxis, type AblationRow, type AblationSpec, ablationConfigs } from './ablation.js';

/** A knob and its experiment config. */
export interface AxisConfig {
  readonly axis: AblationAxis;
  readonly config: ExperimentConfig;
}

/** `ablationConfigs(spec)`, each parsed as `pulse experiment` parses a config file. */
export function parseAblationConfigs(spec: AblationSpec, source = 'ablation'): AxisConfig[] {
  return ablationConfigs(spec).map(({ axis, raw }) => ({ axis, config: parseExperimentConfig(raw, { source: `${source}: ${axis.key}` }) }));
}

/** Each knob's planned runs, by axis key (the baseline runs appear under every knob, with one id). */
export async function planAblation(configs: readonly AxisConfig[]): Promise<Map<string, RunSpec[]>> {
  const runsByAxis = new Map<string, RunSpec[]>();
  for (const { axis, config } of configs) runsByAxis.set(axis.key, await planExperiment(config));
  return runsByAxis;
}

/** What one pass did for one knob (a type, not an interface, so that it is a table row for showTable). */
export type AblationPassRow = {
  readonly knob: string;
  readonly runs: number;
  readonly 'already finished': number;
  readonly ran: number;
  readonly failed: number;
};

/**
 * `runExperiment` for each knob's config in turn, without a progress bar; the runner's error,
 * warning and notice lines go to `log` (its other messages are dropped).
 */
export async function runAblation(configs: readonly AxisConfig[], log: (line: string) => void = console.log): Promise<AblationPassRow[]> {
  const rows: AblationPassRow[] = [];
  for (const { axis, config } of configs) {
    const report = await runExperiment(config, { quiet: true, log: (line) => (/^(error|warning|notice)/.test(line) ? log(line) : undefined) });
    rows.push({ knob: axis.knob, runs: report.total, 'already finished': report.skipped, ran: report.ran, failed: report.failed });
  }
  return rows;
}

/**
 * For one knob: each value's saved image of the first run's first solution (relative to the
 * results folder), labelled with the value and `*` for the baseline. `rows` and `lines` are
 * `summarizeAblation`'s rows and `linesByRow`'s lines; values without a saved image are left out.
 */
export function axisImages(axisKey: string, rows: readonly AblationRow[], lines: readonly (readonly ResultLine[])[]): { file: string; label: string }[] {
  const images: { file: string; label: string }[] = [];
  rows.forEach((row, k) => {
    if (row.axis !== axisKey) return;
    const file = lines[k]?.[0]?.solutions?.[0]?.image;
    if (file) images.push({ file, label: row.baseline ? `${row.label} *` : row.label });
  });
  return images;
}
