/**
 * One PULSE search step by step (notebooks/02-convergence.ipynb): `runRecorded` runs `runPulse`
 * and keeps its per-step numbers and the first solution's image every few steps;
 * `convergenceFigures` draws recorded runs as plotly figures (L2 against eps, GEOCROSS, the total
 * loss and the learning rate); `convergenceSummaryRow` is one table row per run.
 *
 * Recording changes nothing in the search: it only listens on `runPulse`'s `onStep` and
 * `onStepImage` hooks.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RgbImage } from '../io/image.js';
import type { PlotlyFigure, PlotlyTrace } from '../plot/plot-svg.js';
import type { PulseGenerator } from '../pulse/generator-interface.js';
import type { PulseOptions } from '../pulse/options.js';
import { type PulseResult, type PulseStep, runPulse } from '../pulse/run.js';

/** The first solution's image after one step. */
export interface Snapshot {
  /** 0-based step index. */
  readonly step: number;
  /** Clipped to [0, 1]. */
  readonly image: RgbImage;
}

/** A run with its trace (one entry per step, as `onStep` reported it) and its snapshots. */
export interface RecordedRun {
  readonly options: PulseOptions;
  readonly result: PulseResult;
  readonly trace: readonly PulseStep[];
  readonly snapshots: readonly Snapshot[];
}

/**
 * PULSE on `target` ([1, r, r, 3] in [0, 1]) with its per-step trace, and the first solution's
 * image every `every` steps (steps 0, every, 2 * every, ...) and at the last step.
 */
export async function runRecorded(generator: PulseGenerator, target: tf.Tensor4D, options: PulseOptions, every: number): Promise<RecordedRun> {
  if (!Number.isInteger(every) || every < 1) throw new Error(`runRecorded: every is ${every}; use a whole number of steps >= 1`);
  const snapshots: Snapshot[] = [];
  const trace: PulseStep[] = [];
  const keep = (step: number, images: tf.Tensor4D) => {
    if (step % every !== 0 && step !== options.steps - 1) return;
    const [, height, width] = images.shape;
    // The tensor is valid only during the call: copy the first solution out.
    const first = tf.tidy(() => tf.clipByValue(tf.slice(images, [0, 0, 0, 0], [1, height, width, 3]), 0, 1));
    snapshots.push({ step, image: { width, height, data: first.dataSync() as Float32Array } });
    first.dispose();
  };
  const result = await runPulse(generator, target, options, { onStep: (s) => void trace.push(s), onStepImage: keep });
  return { options, result, trace, snapshots };
}

/** One colour per run, in order (plotly's first colours). */
export const RUN_COLOURS: readonly string[] = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/** A recorded run and its legend label. */
export interface LabelledRun {
  readonly label: string;
  readonly run: RecordedRun;
}

/**
 * Two figures for recorded runs (one colour per run, one line per solution): the L2 term
 * (each solution's MSE) against the first run's eps on a log scale, and GEOCROSS, the total
 * loss and the learning rate side by side.
 */
export function convergenceFigures(runs: readonly LabelledRun[]): [PlotlyFigure, PlotlyFigure] {
  if (runs.length === 0) throw new Error('convergenceFigures: no runs; pass at least one { label, run }');
  const l2: PlotlyTrace[] = [];
  const terms: PlotlyTrace[] = [];
  runs.forEach(({ label, run }, r) => {
    const color = RUN_COLOURS[r % RUN_COLOURS.length];
    const steps = run.trace.map((s) => s.step + 1);
    for (let k = 0; k < run.result.batch; k++) {
      const name = run.result.batch > 1 ? `${label}, solution ${k + 1}` : label;
      l2.push({ type: 'scatter', mode: 'lines', x: steps, y: run.trace.map((s) => s.mse[k]), name, legendgroup: label, line: { color, width: 1.5 } });
    }
    const common = { type: 'scatter', mode: 'lines', x: steps, legendgroup: label, line: { color }, name: label };
    terms.push({ ...common, y: run.trace.map((s) => s.terms.GEOCROSS), xaxis: 'x', yaxis: 'y' });
    terms.push({ ...common, y: run.trace.map((s) => s.total), xaxis: 'x2', yaxis: 'y2', showlegend: false });
    terms.push({ ...common, y: run.trace.map((s) => s.lr), xaxis: 'x3', yaxis: 'y3', showlegend: false });
  });
  const eps = runs[0].run.options.eps;
  const last = Math.max(...runs.map(({ run }) => run.trace.length));
  l2.push({ type: 'scatter', mode: 'lines', x: [1, last], y: [eps, eps], name: `eps = ${eps}`, line: { color: 'black', dash: 'dash', width: 1 } });
  const l2Figure: PlotlyFigure = {
    data: l2,
    layout: {
      title: { text: 'L2: MSE of the downscaled solution vs the input' },
      xaxis: { title: { text: 'step' } },
      yaxis: { title: { text: 'MSE' }, type: 'log' },
      width: 760,
      height: 380,
    },
  };
  const axis = (title: string, domain: number[]) => ({ domain, title: { text: title } });
  const termsFigure: PlotlyFigure = {
    data: terms,
    layout: {
      title: { text: 'GEOCROSS | total loss | learning rate' },
      width: 900,
      height: 320,
      xaxis: axis('step', [0, 0.25]),
      yaxis: { anchor: 'x', title: { text: 'GEOCROSS' } },
      xaxis2: axis('step', [0.375, 0.625]),
      yaxis2: { anchor: 'x2', title: { text: 'total' }, type: 'log' },
      xaxis3: axis('step', [0.75, 1]),
      yaxis3: { anchor: 'x3', title: { text: 'lr' } },
    },
  };
  return [l2Figure, termsFigure];
}

/** One row of the notebook's comparison table. */
export function convergenceSummaryRow(name: string, run: RecordedRun): Record<string, unknown> {
  const met = run.result.success.filter(Boolean).length;
  return {
    run: name,
    'best min MSE': Math.min(...run.result.minMse),
    'solutions meeting eps': `${met} of ${run.result.batch}`,
    'final GEOCROSS': run.trace[run.trace.length - 1]?.terms.GEOCROSS,
    seconds: run.result.seconds,
  };
}
