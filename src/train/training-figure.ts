/**
 * The curves of a training run from its log.jsonl (written by `pulse train`): the
 * discriminator and generator losses, D's mean score on real and generated images, the R1
 * penalty where it was computed, and throughput, all against images seen. Raw values are
 * noisy at batch 16, so the loss and score curves are exponential moving averages over about
 * `smoothing` logged points (R1 over a tenth of that: it is logged every r1Interval steps only).
 */
import type { PlotlyFigure, PlotlyTrace } from '../plot/plot-svg.js';
import { gridCell } from '../plot/subplot-grid.js';
import { readJsonLines } from '../util/jsonl.js';
import type { StepStats } from './trainer.js';

/** A line of log.jsonl: a step's stats, with the throughput when it was logged. */
export interface TrainingLogLine extends StepStats {
  readonly imagesPerSecond?: number;
  readonly wallSeconds?: number;
}

/** The lines of a run's log.jsonl; a malformed line is an error naming the file and line. */
export function readTrainingLog(path: string): TrainingLogLine[] {
  const lines = readJsonLines<TrainingLogLine>(path).map(({ line, value }) => {
    if (typeof value.images !== 'number' || typeof value.lossD !== 'number' || typeof value.lossG !== 'number') {
      throw new Error(`${path}:${line} lacks images, lossD or lossG: not a pulse train log`);
    }
    return value;
  });
  if (lines.length === 0) throw new Error(`${path} has no log lines yet`);
  return lines;
}

/**
 * The logs of a run's lineage joined in order (a parent run, then the branch taken from it):
 * each later log takes over from its first logged images on, so the lines of an earlier log at
 * or past that point (the parent's own continuation) are dropped. A later log that starts before
 * the previous one began is not its continuation: an error naming both.
 */
export function joinTrainingLogs(logs: readonly { readonly path: string; readonly lines: readonly TrainingLogLine[] }[]): TrainingLogLine[] {
  let joined: TrainingLogLine[] = [];
  let previous: { path: string; start: number } | null = null;
  for (const { path, lines } of logs) {
    const start = lines[0].images;
    if (previous && start <= previous.start) {
      throw new Error(`${path} starts at ${start} images, before ${previous.path} began (${previous.start}): give the logs oldest run first`);
    }
    joined = [...joined.filter((l) => l.images < start), ...lines];
    previous = { path, start };
  }
  return joined;
}

/** Exponential moving average with a span of `span` points (alpha = 2 / (span + 1)), debiased at the start. */
export function ema(values: readonly number[], span: number): number[] {
  const alpha = 2 / (Math.max(1, span) + 1);
  const out: number[] = [];
  let m = 0;
  let w = 0;
  for (const v of values) {
    m = (1 - alpha) * m + alpha * v;
    w = (1 - alpha) * w + alpha;
    out.push(m / w);
  }
  return out;
}

/** A 2x2 figure: losses, D scores, R1, images per second (x: images seen). */
export function trainingFigure(log: readonly TrainingLogLine[], title: string, smoothing = 50): PlotlyFigure {
  const x = log.map((l) => l.images);
  const data: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = { title: { text: title }, width: 1000, height: 680, margin: { t: 100, l: 60, r: 20, b: 50 }, legend: { orientation: 'h', x: 0.5, xanchor: 'center', y: 1.1 } };
  const gapX = 0.1;
  const gapY = 0.16;
  const w = (1 - gapX) / 2;
  const h = (1 - gapY) / 2;
  const panels = ['loss (EMA)', 'D score (EMA)', 'R1 penalty', 'images / s'];
  const cells = panels.map((p, i) => {
    const c = gridCell(i, 2, w, h, gapX, gapY);
    layout[c.xKey] = { domain: [c.x0, c.x0 + w], anchor: c.yName, title: { text: 'images seen' } };
    layout[c.yKey] = { domain: [c.y1 - h, c.y1], anchor: c.xName, title: { text: p } };
    return c;
  });
  const line = (i: number, name: string, y: readonly number[], colour: string, xs: readonly number[] = x): PlotlyTrace => ({
    type: 'scatter',
    mode: 'lines',
    name,
    x: xs,
    y,
    xaxis: cells[i].xName,
    yaxis: cells[i].yName,
    line: { color: colour, width: 1.5 },
  });
  data.push(line(0, 'loss D', ema(log.map((l) => l.lossD), smoothing), '#1f77b4'));
  data.push(line(0, 'loss G', ema(log.map((l) => l.lossG), smoothing), '#d62728'));
  data.push(line(1, 'D(real)', ema(log.map((l) => l.realScore), smoothing), '#2ca02c'));
  data.push(line(1, 'D(fake)', ema(log.map((l) => l.fakeScore), smoothing), '#9467bd'));
  const r1 = log.filter((l) => typeof l.r1 === 'number');
  if (r1.length > 0) {
    data.push(line(2, 'R1', ema(r1.map((l) => l.r1 as number), Math.max(1, Math.round(smoothing / 10))), '#8c564b', r1.map((l) => l.images)));
  }
  const ips = log.filter((l) => typeof l.imagesPerSecond === 'number');
  if (ips.length > 0) data.push(line(3, 'images / s', ips.map((l) => l.imagesPerSecond as number), '#7f7f7f', ips.map((l) => l.images)));
  return { data, layout };
}
