/**
 * The paper's evaluation protocol for notebooks/05-reproduce-64x.ipynb: which factor a model can
 * be tested at, whether it is the paper's setting, and the figures and tables made from a
 * benchmark summary (src/benchmark/summary.ts).
 *
 * The paper (Menon et al., CVPR 2020, Table 2): aligned faces, 16x16 -> 1024x1024 (64x) with the
 * FFHQ StyleGAN, downscaled with BicubicDownSample, default hyperparameters, eps 1e-3; NIQE of
 * HR 3.90, bicubic 7.06, PULSE 2.47. A model of another side cannot run that setting:
 * `reproductionPlan` keeps the paper's 16x16 input when the model's side allows a factor of at
 * least 8 (side >= 128; 64x at 1024), and otherwise an 8x factor (8x8 -> 64x64 for a 64 px model),
 * and says which it is.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchManifest } from '../benchmark/bench-data.js';
import { methodColour } from '../benchmark/method-colours.js';
import type { BenchResultLine } from '../benchmark/result-line.js';
import type { BenchmarkSummary, PlotHook } from '../benchmark/summary.js';
import type { PlotlyFigure, PlotlyTrace } from '../plot/plot-svg.js';
import { renderPlotSvg } from '../plot/plot-svg.js';
import { gridCell } from '../plot/subplot-grid.js';
import { isPowerOfTwo } from '../util/power-of-two.js';

/** The paper's setting and the numbers of its Table 2 (NIQE, lower is better). */
export const PAPER = Object.freeze({
  resolution: 1024,
  lowResolution: 16,
  factor: 64,
  eps: 1e-3,
  steps: 100,
  niqe: Object.freeze({ hr: 3.9, bicubic: 7.06, pulse: 2.47 }) as Readonly<Record<string, number>>,
});

export interface ReproductionPlan {
  readonly resolution: number;
  readonly lowResolution: number;
  readonly factor: number;
  /** True only for a 1024 px model at 64x (the paper's numbers are comparable only then). */
  readonly paperSetting: boolean;
  /** One sentence for the notebook's output. */
  readonly description: string;
}

/** See the module comment. `published`: the model is the published FFHQ one. */
export function reproductionPlan(resolution: number, published: boolean): ReproductionPlan {
  if (!isPowerOfTwo(resolution) || resolution < 4) {
    throw new Error(`model side ${resolution} must be a power of two >= 4`);
  }
  const lowResolution = resolution >= 128 ? Math.max(PAPER.lowResolution, resolution / PAPER.factor) : Math.max(2, resolution / 8);
  const factor = resolution / lowResolution;
  const paperSetting = published && resolution === PAPER.resolution && factor === PAPER.factor;
  const setting = `${lowResolution}x${lowResolution} -> ${resolution}x${resolution} (${factor}x)`;
  const paper = `${PAPER.lowResolution}x${PAPER.lowResolution} -> ${PAPER.resolution}x${PAPER.resolution} (${PAPER.factor}x)`;
  const description = paperSetting
    ? `the paper's setting: ${setting} with the published FFHQ model`
    : `${setting}${published ? ' with the published FFHQ model' : " on this project's model"}, not the paper's ${paper} with the published FFHQ model: ` +
      "the same protocol, but numbers that are not comparable with the paper's";
  return { resolution, lowResolution, factor, paperSetting, description };
}

/** Whether existing bench data is what the plan asks for (so a full-mode re-run reuses it). */
export function benchDataMatches(manifest: BenchManifest, want: { size: number; factor: number; count: number; sourceDir: string; crop: string }): boolean {
  return (
    manifest.size === want.size &&
    manifest.factors.includes(want.factor) &&
    manifest.faces.length === want.count &&
    manifest.source.dir === want.sourceDir &&
    manifest.crop.name === want.crop
  );
}

// ---------------------------------------------------------------------------------------------
// Tables

/** NIQE here beside the paper's, per method (the paper has HR, bicubic and PULSE). */
export function paperComparisonRows(summary: BenchmarkSummary, plan: ReproductionPlan): Record<string, unknown>[] {
  return summary.methods.map((m) => {
    const i = m.metrics.niqe;
    const paper = PAPER.niqe[m.method];
    return {
      method: m.method,
      'NIQE here': i.mean,
      '95% interval': i.low === null || i.high === null ? '—' : `${i.low.toFixed(2)} to ${i.high.toFixed(2)}`,
      faces: i.n,
      [`NIQE, paper (${PAPER.factor}x, ${PAPER.resolution} px)`]: paper ?? '—',
      comparable: paper === undefined ? '—' : plan.paperSetting ? 'yes' : "no: not the paper's setting",
    };
  });
}

/** summary.md without its "Figures" section (its image links are relative to the benchmark folder). */
export function withoutFigures(markdown: string): string {
  return markdown.replace(/\n## Figures\n[\s\S]*?(?=\n## |$)/, '');
}

// ---------------------------------------------------------------------------------------------
// Figures

const PANELS = [
  { key: 'niqe', title: 'NIQE ↓', log: false },
  { key: 'psnr', title: 'PSNR dB ↑', log: false },
  { key: 'ssim', title: 'SSIM ↑', log: false },
  { key: 'lrMse', title: 'LR MSE ↓ (log)', log: true },
  { key: 'success', title: 'success (LR MSE ≤ eps)', log: false },
  { key: 'seconds', title: 's / image (log)', log: true },
] as const;

/**
 * The benchmark's metrics per method: six bar panels (NIQE, PSNR, SSIM, LR MSE, success, time),
 * each bar the mean over faces with its 95% t-interval (on the log panels only the upper end
 * when the interval reaches 0); the eps line on LR MSE, and the paper's
 * NIQE values as markers when `paperNiqe` is set.
 */
export function benchmarkFigure(summary: BenchmarkSummary, options: { paperNiqe?: boolean; title?: string } = {}): PlotlyFigure {
  const methods = summary.methods.map((m) => m.method);
  const data: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = {
    title: { text: options.title ?? `Benchmark: ${summary.config.lowResolution}x${summary.config.lowResolution} -> ${summary.config.size}x${summary.config.size} (${summary.config.factor}x), ${summary.faces} faces` },
    width: 980,
    height: 640,
    showlegend: false,
    margin: { t: 110 },
    annotations: [] as unknown[],
  };
  const cols = 3;
  const gapX = 0.08;
  const gapY = 0.2;
  const w = (1 - gapX * (cols - 1)) / cols;
  const h = (1 - gapY) / 2;
  PANELS.forEach((p, i) => {
    const { xName, yName, xKey, yKey, x0, y1 } = gridCell(i, cols, w, h, gapX, gapY);
    const intervals = summary.methods.map((m) => m.metrics[p.key]);
    const mean = intervals.map((iv) => iv.mean);
    data.push({
      type: 'bar',
      name: p.title,
      x: methods,
      y: mean,
      xaxis: xName,
      yaxis: yName,
      marker: { color: methods.map((m) => methodColour(m)) },
      error_y: {
        type: 'data',
        symmetric: false,
        array: intervals.map((iv) => (iv.high !== null && iv.mean !== null ? iv.high - iv.mean : 0)),
        // On a log axis an interval reaching 0 has no lower end to draw: only its upper end is shown.
        arrayminus: intervals.map((iv) => (iv.low !== null && iv.mean !== null && (!p.log || iv.low > 0) ? iv.mean - iv.low : 0)),
        color: '#333',
        thickness: 1,
      },
    });
    layout[xKey] = { domain: [x0, x0 + w], anchor: yName, type: 'category' };
    layout[yKey] = { domain: [y1 - h, y1], anchor: xName, ...(p.log ? { type: 'log', dtick: 1, exponentformat: 'e' } : { rangemode: 'tozero' }) };
    (layout.annotations as unknown[]).push({ text: `<b>${p.title}</b>`, x: x0 + w / 2, y: y1 + 0.01, xref: 'paper', yref: 'paper', xanchor: 'center', yanchor: 'bottom', showarrow: false });
    if (p.key === 'lrMse') {
      data.push({ type: 'scatter', mode: 'lines', name: `eps = ${summary.config.eps}`, x: [methods[0], methods[methods.length - 1]], y: [summary.config.eps, summary.config.eps], xaxis: xName, yaxis: yName, line: { color: 'black', dash: 'dash', width: 1 } });
    }
    if (p.key === 'niqe' && options.paperNiqe) {
      const xs = methods.filter((m) => PAPER.niqe[m] !== undefined);
      data.push({ type: 'scatter', mode: 'markers', name: 'paper (64x, 1024 px)', x: xs, y: xs.map((m) => PAPER.niqe[m]), xaxis: xName, yaxis: yName, marker: { symbol: 'diamond', size: 10, color: 'black' } });
    }
  });
  return { data, layout };
}

/**
 * A PlotHook for summarizeBenchmark that writes `benchmarkFigure` as figures/metrics.svg in the
 * benchmark folder (summary.md then links it).
 */
export function svgPlotHook(options: { paperNiqe?: boolean } = {}): PlotHook {
  return async ({ outDir, summary }) => {
    const rendered = await renderPlotSvg(benchmarkFigure(summary, options));
    if (!rendered.ok) return [];
    const dir = join(outDir, 'figures');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'metrics.svg');
    writeFileSync(path, rendered.svg);
    return [path];
  };
}

/** Per face, each method's first output image (relative to the benchmark folder), in `methods` order. */
export function galleryPaths(lines: readonly BenchResultLine[], faces: readonly string[], methods: readonly string[]): { face: string; images: { method: string; image: string }[] }[] {
  return faces.map((face) => ({
    face,
    images: methods.flatMap((method) => {
      const line = lines.find((l) => l.image === face && l.method === method && l.status === 'ok' && (l.outputs?.length ?? 0) > 0);
      return line ? [{ method, image: line.outputs![0].image }] : [];
    }),
  }));
}
