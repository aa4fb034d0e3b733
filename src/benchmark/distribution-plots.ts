/**
 * The benchmark's distribution plots: one box plot per metric, one box per method, every output
 * image a point (PULSE: every solution of every seed). Written as `figures/distributions.svg`
 * (static, for GitHub and the docs) and `figures/distributions.plotly.json` (the same figure as
 * plotly JSON, for Jupyter or any plotly viewer). A PlotHook for summarizeBenchmark.
 *
 * Box plots rather than histograms because the methods' ranges differ by orders of magnitude
 * (LR MSE spans 1e-6 for PULSE to 1e-2 for nearest): a box per method on a shared log axis keeps
 * each readable.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type PlotlyFigure, type PlotlyTrace, renderPlotSvg } from '../plot/plot-svg.js';
import { gridCell } from '../plot/subplot-grid.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/files.js';
import { METHOD_COLOURS } from './method-colours.js';
import type { BenchMethod } from './methods.js';
import type { OutputRow, PlotHook } from './summary.js';

/** The panels, in order: a metric of OutputRow, its axis title and whether its axis is logarithmic. */
export const DISTRIBUTION_PANELS = [
  { key: 'niqe', title: 'NIQE (lower is better)', log: false },
  { key: 'psnr', title: 'PSNR dB (higher is better)', log: false },
  { key: 'ssim', title: 'SSIM (higher is better)', log: false },
  { key: 'lrMse', title: 'LR MSE (the eps constraint)', log: true },
  { key: 'identityDistance', title: 'identity distance to HR', log: false },
  { key: 'seconds', title: 'seconds per image', log: true },
] as const satisfies readonly { key: keyof OutputRow; title: string; log: boolean }[];

function finiteValues(rows: readonly OutputRow[], key: keyof OutputRow): number[] {
  const out: number[] = [];
  for (const r of rows) {
    const v = r[key];
    if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
  }
  return out;
}

/** The plotly figure of the per-output distributions (panels without any value are left out). */
export function distributionFigure(
  rows: Readonly<Partial<Record<BenchMethod, readonly OutputRow[]>>>,
  title: string,
): PlotlyFigure {
  const methods = (Object.keys(rows) as BenchMethod[]).filter((m) => (rows[m] ?? []).length > 0);
  const panels = DISTRIBUTION_PANELS.filter((p) => methods.some((m) => finiteValues(rows[m] ?? [], p.key).length > 0));
  const cols = 3;
  const nRows = Math.max(1, Math.ceil(panels.length / cols));
  const gapX = 0.08;
  const gapY = 0.16;
  const w = (1 - gapX * (cols - 1)) / cols;
  const h = (1 - gapY * (nRows - 1)) / nRows;
  const data: PlotlyTrace[] = [];
  const layout: Record<string, unknown> = {
    title: { text: title },
    width: 1050,
    height: 330 * nRows + 80,
    showlegend: false,
    margin: { t: 70, l: 60, r: 20, b: 50 },
    annotations: [] as unknown[],
  };
  panels.forEach((panel, i) => {
    const { xName, yName, xKey, yKey, x0, y1 } = gridCell(i, cols, w, h, gapX, gapY);
    layout[xKey] = { domain: [x0, x0 + w], anchor: yName };
    layout[yKey] = {
      domain: [y1 - h, y1],
      anchor: xName,
      title: { text: panel.title },
      ...(panel.log ? { type: 'log', exponentformat: 'e' } : {}),
    };
    for (const method of methods) {
      let y = finiteValues(rows[method] ?? [], panel.key);
      // A log axis cannot show 0 (HR's LR MSE is ~1e-14, nearest's seconds can round to 0).
      if (panel.log) y = y.map((v) => Math.max(v, 1e-12));
      if (y.length === 0) continue;
      data.push({
        type: 'box',
        name: method,
        x: y.map(() => method),
        y,
        xaxis: xName,
        yaxis: yName,
        boxpoints: 'all',
        jitter: 0.4,
        pointpos: 0,
        marker: { color: METHOD_COLOURS[method], size: 3, opacity: 0.6 },
        line: { color: METHOD_COLOURS[method] },
      });
    }
  });
  return { data, layout };
}

/**
 * A PlotHook: writes figures/distributions.svg and figures/distributions.plotly.json under the
 * benchmark folder and returns their paths. Where the SVG cannot be made, writes the reason and
 * the text summary to figures/distributions.txt instead (the JSON is always written).
 */
export const distributionPlots: PlotHook = async ({ outDir, summary, rows }) => {
  const dir = join(outDir, 'figures');
  mkdirSync(dir, { recursive: true });
  const factor = summary.config.factor;
  const figure = distributionFigure(rows, `Per-image metrics at ${factor}x, ${summary.faces} faces (every output one point)`);
  const jsonPath = join(dir, 'distributions.plotly.json');
  writeJsonAtomic(jsonPath, figure, true);
  const rendered = await renderPlotSvg(figure);
  if (rendered.ok) {
    const svgPath = join(dir, 'distributions.svg');
    writeFileAtomic(svgPath, rendered.svg, true);
    return [svgPath, jsonPath];
  }
  const txtPath = join(dir, 'distributions.txt');
  writeFileAtomic(txtPath, `no SVG: ${rendered.reason}\n\n${rendered.text}\n`, true);
  return [txtPath, jsonPath];
};
