/**
 * One-at-a-time ablations of PULSE's knobs for notebooks/03-ablations.ipynb, on top of the
 * experiment runner (src/experiments): which configs to run, and the table and figures made
 * from their results.
 *
 * Design: a baseline (the official settings) and one axis per knob; each axis varies its knob
 * while every other knob keeps its baseline value. Each axis is its own experiment config (the
 * runner's grids are cartesian products, and the product of six knobs would be hundreds of
 * runs), and all of them write to ONE results folder. Every config sets every knob explicitly
 * (the others in `base`, its own in `grid`), so the baseline point has the same explicit options,
 * hence the same run id (src/experiments/grid.ts `runId`), in every axis: it runs once and each
 * axis finds it finished. Re-running the configs resumes: finished runs are skipped.
 *
 * Everything here is pure (no files, no tfjs): the notebook runs the configs and reads the results.
 */
import type { OptionField, OptionValues } from '../experiments/config.js';
import { type PointSummary, type ResultLine, type RunRef, summarizePoints } from '../experiments/results.js';
import { finiteMedian } from '../util/stats.js';
import type { PlotlyFigure, PlotlyTrace } from '../plot/plot-svg.js';
import { gridCell } from '../plot/subplot-grid.js';

/** One knob and the values it takes; `baseline` (one of `values`) is what the other axes use. */
export interface AblationAxis {
  /** Short folder-safe key ("geocross"), also the suffix of the axis's experiment name. */
  readonly key: string;
  /** What the knob is, for tables and legends ("GEOCROSS weight"). */
  readonly knob: string;
  /** The PULSE option it sets. */
  readonly field: OptionField;
  readonly values: readonly unknown[];
  readonly baseline: unknown;
  /** Display label per value (default: the value as text). */
  readonly labels?: readonly string[];
}

/**
 * The paper's knobs (the official run.py flags) around the official defaults: GEOCROSS weight
 * 0 / 0.05 / 0.5 (written `+0*GEOCROSS` so the term is still traced), noise type, tile_latent,
 * learning-rate schedule, optimizer, and the number of steps (half, the given, double).
 */
export function paperAxes(steps: number): AblationAxis[] {
  if (!Number.isInteger(steps) || steps < 2) throw new Error(`steps=${steps} must be an integer >= 2`);
  const half = Math.max(1, Math.round(steps / 2));
  return [
    {
      key: 'geocross',
      knob: 'GEOCROSS weight',
      field: 'loss',
      values: ['100*L2+0*GEOCROSS', '100*L2+0.05*GEOCROSS', '100*L2+0.5*GEOCROSS'],
      baseline: '100*L2+0.05*GEOCROSS',
      labels: ['0', '0.05', '0.5'],
    },
    { key: 'noise', knob: 'noise type', field: 'noiseType', values: ['trainable', 'fixed', 'zero'], baseline: 'trainable' },
    { key: 'tile', knob: 'tile_latent', field: 'tileLatent', values: [false, true], baseline: false },
    {
      key: 'schedule',
      knob: 'lr schedule',
      field: 'lrSchedule',
      values: ['linear1cycledrop', 'linear1cycle', 'fixed'],
      baseline: 'linear1cycledrop',
    },
    { key: 'optimizer', knob: 'optimizer', field: 'optimizer', values: ['adam', 'adamax', 'sgdm', 'sgd'], baseline: 'adam' },
    { key: 'steps', knob: 'steps', field: 'steps', values: [half, steps, steps * 2], baseline: steps },
  ];
}

/** The label of `value` on `axis`. */
export function valueLabel(axis: AblationAxis, value: unknown): string {
  const i = axis.values.findIndex((v) => sameValue(v, value));
  if (i >= 0 && axis.labels?.[i] !== undefined) return axis.labels[i];
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function checkAxes(axes: readonly AblationAxis[]): void {
  if (axes.length === 0) throw new Error('an ablation needs at least one axis');
  const keys = new Set<string>();
  const fields = new Set<string>();
  for (const a of axes) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(a.key)) throw new Error(`axis key "${a.key}" must be folder-safe (letters, digits, '_', '-')`);
    if (keys.has(a.key)) throw new Error(`axis key "${a.key}" is used twice`);
    if (fields.has(a.field)) throw new Error(`option ${a.field} is the knob of two axes`);
    keys.add(a.key);
    fields.add(a.field);
    if (a.values.length === 0) throw new Error(`axis ${a.key} has no values`);
    if (!a.values.some((v) => sameValue(v, a.baseline))) throw new Error(`axis ${a.key}: the baseline ${JSON.stringify(a.baseline)} is not among its values`);
    if (a.labels && a.labels.length !== a.values.length) throw new Error(`axis ${a.key} has ${a.values.length} values but ${a.labels.length} labels`);
  }
}

/** What every axis's experiment shares. */
export interface AblationSpec {
  /** Experiment name prefix (folder-safe); axis configs are named `<name>.<axis key>`. */
  readonly name: string;
  /** Model path (null: the built-in model). */
  readonly model: string | null;
  /** The experiment config's `inputs` (lfwSplit and/or files, factor), as JSON. */
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly seeds: readonly number[];
  /** Options every run shares that no axis varies (eps, duplicates, ...). */
  readonly base?: OptionValues;
  readonly axes: readonly AblationAxis[];
  /** The one results folder of every axis. */
  readonly out: string;
  readonly saveImages?: boolean;
}

/** One raw experiment config per axis (for parseExperimentConfig), in axis order. */
export function ablationConfigs(spec: AblationSpec): { axis: AblationAxis; raw: Record<string, unknown> }[] {
  checkAxes(spec.axes);
  for (const a of spec.axes) {
    if (spec.base && a.field in spec.base) throw new Error(`option ${a.field} is both in base and the knob of axis ${a.key}`);
  }
  const baseline: Record<string, unknown> = {};
  for (const a of spec.axes) baseline[a.field] = a.baseline;
  return spec.axes.map((axis) => {
    const base: Record<string, unknown> = { ...(spec.base ?? {}), ...baseline };
    delete base[axis.field];
    return {
      axis,
      raw: {
        name: `${spec.name}.${axis.key}`,
        description: `${axis.knob} (${axis.field}) over ${axis.values.map((v) => JSON.stringify(v)).join(', ')}; every other knob at its baseline`,
        ...(spec.model !== null ? { model: spec.model } : {}),
        inputs: spec.inputs,
        seeds: [...spec.seeds],
        base,
        grid: { [axis.field]: [...axis.values] },
        out: spec.out,
        saveImages: spec.saveImages ?? false,
      },
    };
  });
}

/** One configuration of the ablation table. */
export interface AblationRow {
  readonly axis: string;
  readonly knob: string;
  readonly value: unknown;
  readonly label: string;
  /** "knob = label", unique per row (the category of the plots). */
  readonly config: string;
  readonly baseline: boolean;
  readonly summary: PointSummary;
}

/**
 * The table rows: per axis, one row per value (the baseline row appears in each axis, computed
 * from the same shared runs). `runsByAxis` holds each axis's runs (planExperiment of its config).
 */
export function summarizeAblation(
  axes: readonly AblationAxis[],
  runsByAxis: ReadonlyMap<string, readonly RunRef[]>,
  results: ReadonlyMap<string, ResultLine>,
): AblationRow[] {
  const rows: AblationRow[] = [];
  for (const axis of axes) {
    const runs = runsByAxis.get(axis.key);
    if (!runs) throw new Error(`no runs given for axis ${axis.key}`);
    for (const summary of summarizePoints(runs, results)) {
      const value = summary.point[axis.field];
      const label = valueLabel(axis, value);
      rows.push({ axis: axis.key, knob: axis.knob, value, label, config: `${axis.knob} = ${label}`, baseline: sameValue(value, axis.baseline), summary });
    }
  }
  return rows;
}

/** The rows as a plain table (showTable). */
export function ablationTable(rows: readonly AblationRow[]): Record<string, unknown>[] {
  return rows.map((r) => ({
    knob: r.knob,
    value: r.baseline ? `${r.label} (baseline)` : r.label,
    runs: `${r.summary.finished}/${r.summary.runs}${r.summary.failed ? `, ${r.summary.failed} failed` : ''}`,
    solutions: r.summary.solutions,
    'success rate': r.summary.successRate,
    'median final L2': r.summary.medianFinalL2,
    'median min L2': r.summary.medianMinL2,
    's / run': r.summary.meanSeconds,
    'steps to eps': r.summary.meanStepsToEps,
  }));
}

// ---------------------------------------------------------------------------------------------
// Figures

export const AXIS_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

function colorOf(axes: readonly { key: string }[], key: string): string {
  const i = axes.findIndex((a) => a.key === key);
  return AXIS_COLORS[(i < 0 ? 0 : i) % AXIS_COLORS.length];
}

/**
 * Success rate, median final L2 (log, with the eps line) and seconds per run for every
 * configuration: three stacked bar charts sharing the configuration axis, one colour per knob,
 * the baseline bars outlined in black.
 */
export function ablationBarsFigure(rows: readonly AblationRow[], eps: number, options: { title?: string } = {}): PlotlyFigure {
  const axes = [...new Map(rows.map((r) => [r.axis, { key: r.axis, knob: r.knob }])).values()];
  const data: PlotlyTrace[] = [];
  const panels: { y: string; pick: (r: AblationRow) => number | null; show: boolean }[] = [
    { y: 'y', pick: (r) => r.summary.successRate, show: true },
    { y: 'y2', pick: (r) => r.summary.medianFinalL2, show: false },
    { y: 'y3', pick: (r) => r.summary.meanSeconds, show: false },
  ];
  for (const axis of axes) {
    const mine = rows.filter((r) => r.axis === axis.key);
    const color = colorOf(axes, axis.key);
    for (const p of panels) {
      data.push({
        type: 'bar',
        name: axis.knob,
        legendgroup: axis.key,
        showlegend: p.show,
        x: mine.map((r) => r.config),
        y: mine.map((r) => p.pick(r)),
        xaxis: 'x',
        yaxis: p.y,
        marker: { color, line: { color: mine.map((r) => (r.baseline ? 'black' : color)), width: mine.map((r) => (r.baseline ? 2 : 0)) } },
        hovertext: mine.map((r) => `${r.config}${r.baseline ? ' (baseline)' : ''}: ${r.summary.solutions} solutions`),
      });
    }
  }
  const categories = rows.map((r) => r.config);
  data.push({
    type: 'scatter',
    mode: 'lines',
    name: `eps = ${eps}`,
    x: [categories[0], categories[categories.length - 1]],
    y: [eps, eps],
    xaxis: 'x',
    yaxis: 'y2',
    line: { color: 'black', dash: 'dash', width: 1 },
  });
  return {
    data,
    layout: {
      title: { text: options.title ?? 'PULSE ablations: one knob at a time (black outline: baseline)', y: 0.985 },
      width: 980,
      height: 860,
      barmode: 'group',
      bargap: 0.25,
      margin: { b: 190, t: 110 },
      xaxis: { type: 'category', tickangle: -40, categoryorder: 'array', categoryarray: categories, anchor: 'y3' },
      yaxis: { domain: [0.7, 1], title: { text: 'success rate' }, range: [0, 1.05], anchor: 'x' },
      yaxis2: { domain: [0.36, 0.64], title: { text: 'median final L2' }, type: 'log', dtick: 1, exponentformat: 'e', anchor: 'x' },
      yaxis3: { domain: [0, 0.3], title: { text: 's / run' }, anchor: 'x', rangemode: 'tozero' },
      legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom' },
    },
  };
}

/** The ok result lines of each row's runs (one list per row, in row order). */
export function linesByRow(
  rows: readonly AblationRow[],
  runsByAxis: ReadonlyMap<string, readonly RunRef[]>,
  results: ReadonlyMap<string, ResultLine>,
): ResultLine[][] {
  return rows.map((r) => {
    const runs = runsByAxis.get(r.axis) ?? [];
    const key = JSON.stringify(r.summary.point);
    return runs
      .filter((run) => JSON.stringify(run.point) === key)
      .map((run) => results.get(run.id))
      .filter((l): l is ResultLine => l !== undefined && l.status === 'ok');
  });
}

/** Every solution's final L2 per configuration (box plots over faces x seeds), log scale, with eps. */
export function finalL2BoxFigure(rows: readonly AblationRow[], lines: readonly ResultLine[][], eps: number): PlotlyFigure {
  const axes = [...new Map(rows.map((r) => [r.axis, { key: r.axis }])).values()];
  const data: PlotlyTrace[] = rows.map((r, i) => {
    const values = lines[i].flatMap((l) => (l.solutions ?? []).map((s) => s.finalMse));
    return {
      type: 'box',
      name: r.config,
      y: values,
      boxpoints: 'all',
      jitter: 0.4,
      pointpos: 0,
      marker: { color: colorOf(axes, r.axis), size: 4 },
      line: { color: colorOf(axes, r.axis), width: r.baseline ? 2.5 : 1 },
      showlegend: false,
    };
  });
  const categories = rows.map((r) => r.config);
  data.push({ type: 'scatter', mode: 'lines', name: `eps = ${eps}`, x: [categories[0], categories[categories.length - 1]], y: [eps, eps], line: { color: 'black', dash: 'dash', width: 1 } });
  return {
    data,
    layout: {
      title: { text: 'Final L2 of every solution (faces x seeds), per configuration' },
      width: 980,
      height: 460,
      margin: { b: 170 },
      xaxis: { type: 'category', tickangle: -40, categoryorder: 'array', categoryarray: categories },
      yaxis: { type: 'log', dtick: 1, exponentformat: 'e', title: { text: 'final L2 (MSE)' } },
      showlegend: true,
      legend: { orientation: 'h', y: 1.1 },
    },
  };
}

/** The median over solutions of the per-step MSE (steps where at least one solution has a value). */
export function medianCurve(lines: readonly ResultLine[]): number[] {
  const curves = lines.flatMap((l) => l.trace?.mse ?? []);
  const length = Math.max(0, ...curves.map((c) => c.length));
  const out: number[] = [];
  for (let s = 0; s < length; s++) {
    const m = finiteMedian(curves.map((c) => c[s]).filter((v) => v !== undefined && Number.isFinite(v)));
    out.push(m ?? NaN);
  }
  return out;
}

/**
 * L2 along the steps: one panel per knob (two columns), one line per value (the median over
 * the solutions of that configuration), log scale, with the eps line.
 */
export function l2CurvesFigure(axes: readonly AblationAxis[], rows: readonly AblationRow[], lines: readonly ResultLine[][], eps: number): PlotlyFigure {
  const cols = axes.length === 1 ? 1 : 2;
  const nrows = Math.ceil(axes.length / cols);
  const gapX = 0.1;
  const gapY = nrows > 1 ? 0.24 / (nrows - 1) : 0;
  const w = (1 - gapX * (cols - 1)) / cols;
  const h = (1 - gapY * (nrows - 1)) / nrows;
  const palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
  const data: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = {
    title: { text: 'L2 along the steps, median over solutions (dashed: eps)' },
    width: 980,
    height: 270 * nrows + 100,
    margin: { t: 100 },
    showlegend: false,
    annotations: [] as unknown[],
  };
  axes.forEach((axis, i) => {
    const { xName, yName, xKey, yKey, x0, y1 } = gridCell(i, cols, w, h, gapX, gapY);
    const bottom = i + cols >= axes.length;
    layout[xKey] = { domain: [x0, x0 + w], anchor: yName, ...(bottom ? { title: { text: 'step' } } : {}) };
    layout[yKey] = { domain: [y1 - h, y1], anchor: xName, type: 'log', dtick: 1, exponentformat: 'e', title: { text: 'L2' } };
    let longest = 1;
    rows.forEach((r, k) => {
      if (r.axis !== axis.key) return;
      const curve = medianCurve(lines[k]);
      longest = Math.max(longest, curve.length);
      const j = axis.values.findIndex((v) => sameValue(v, r.value));
      data.push({
        type: 'scatter',
        mode: 'lines',
        name: r.config,
        x: curve.map((_, s) => s + 1),
        y: curve,
        xaxis: xName,
        yaxis: yName,
        line: { color: palette[(j < 0 ? 0 : j) % palette.length], width: r.baseline ? 2.5 : 1.5 },
      });
    });
    data.push({ type: 'scatter', mode: 'lines', name: 'eps', x: [1, longest], y: [eps, eps], xaxis: xName, yaxis: yName, line: { color: 'black', dash: 'dash', width: 1 } });
    const legend = axis.values.map((v, j) => `<span style="color:${palette[j % palette.length]}">${valueLabel(axis, v)}</span>`).join(' · ');
    (layout.annotations as unknown[]).push({
      text: `<b>${axis.knob}</b>: ${legend}`,
      x: x0 + w / 2,
      y: y1 + 0.01,
      xref: 'paper',
      yref: 'paper',
      xanchor: 'center',
      yanchor: 'bottom',
      showarrow: false,
      font: { size: 11 },
    });
  });
  return { data, layout };
}
