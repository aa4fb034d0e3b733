/**
 * The benchmark's summary: one row per method, shaped like Table 2 of the PULSE paper (NIQE of HR,
 * nearest, bicubic, ... and PULSE at one factor), with further columns for PSNR, SSIM, the
 * LR-consistency MSE, the success rate, the identity distance, the share judged the same person,
 * and the time per image. Written as summary.md (the table), summary.json (everything), and
 * distributions/<method>.csv (one row per output image: the raw values, for plots).
 *
 * Statistics. The unit is the face: each face's value is the mean over its outputs (PULSE: over
 * its seeds and duplicates; the other methods have one output), ignoring undefined values (no
 * face found, no NIQE). Every cell is the mean over faces with a two-sided 95% Student t-interval,
 * mean +- t(0.975, n-1) * sd / sqrt(n) (sd the sample standard deviation over faces), clipped to
 * the metric's range (shares to [0, 1], non-negative quantities at 0). No interval with one face.
 * The t-interval (rather than a bootstrap) because the number of faces is often small, where a
 * percentile bootstrap is too narrow; for the shares it is the normal-theory interval of a mean
 * of per-face proportions.
 *
 * Diversity (methods with several outputs per face): per face, the mean pairwise descriptor
 * distance and RMS pixel distance of its outputs (src/benchmark/identity.ts), then mean and
 * t-interval over faces.
 *
 * Plots come from another module: pass `plot` (a PlotHook) to summarizeBenchmark; it receives the
 * per-output rows of every method and returns the files it wrote, which summary.md and
 * summary.json then list. The CSV files have the same rows, for plotting outside.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { readImage } from '../io/image.js';
import { toCsv } from '../experiments/results.js';
import { readAllRuns } from '../run-store/store.js';
import { writeFileAtomic, writeJsonAtomic } from '../util/files.js';
import { type Interval, tInterval } from '../util/student-t.js';
import { readBenchManifest } from './bench-data.js';
import { type Diversity, diversity } from './identity.js';
import { BENCH_CONFIG_FILE, type BenchmarkConfig } from './benchmark-config.js';
import type { BenchMethod } from './methods.js';
import { planBenchmark } from './plan.js';
import { type BenchResultLine, isBenchLine } from './result-line.js';

// ---------------------------------------------------------------------------------------------
// Rows and metrics

/** One output image, flattened (a row of distributions/<method>.csv). */
export interface OutputRow {
  readonly face: string;
  readonly person: string | null;
  readonly method: BenchMethod;
  readonly runSeed: number;
  readonly seed: number;
  readonly solution: number;
  readonly niqe: number | null;
  readonly psnr: number | null;
  readonly psnrY: number | null;
  readonly ssim: number;
  readonly ssimY: number;
  readonly lrMse: number;
  /** 1 or 0. */
  readonly success: number;
  readonly identityDistance: number | null;
  /** 1, 0, or null (no face in SR or HR). */
  readonly samePerson: number | null;
  readonly srFaceFound: number | null;
  /** Method seconds per output image. */
  readonly seconds: number;
  /** PULSE: gradient steps applied before the solution's MSE first met eps (as in experiment results); null when never, or for other methods. */
  readonly stepsToEps: number | null;
  readonly image: string;
}

export const OUTPUT_COLUMNS: readonly (keyof OutputRow)[] = [
  'face',
  'person',
  'method',
  'runSeed',
  'seed',
  'solution',
  'niqe',
  'psnr',
  'psnrY',
  'ssim',
  'ssimY',
  'lrMse',
  'success',
  'identityDistance',
  'samePerson',
  'srFaceFound',
  'seconds',
  'stepsToEps',
  'image',
];

/** The table's metric columns, in order. */
/** The table's metric columns, in order; `clip` bounds the interval (shares to [0, 1], non-negative values at 0). */
export const TABLE_METRICS = [
  { key: 'niqe', label: 'NIQE ↓', digits: 2, clip: [0, Infinity] },
  { key: 'psnr', label: 'PSNR dB ↑', digits: 2, clip: [0, Infinity] },
  { key: 'ssim', label: 'SSIM ↑', digits: 3, clip: [-1, 1] },
  { key: 'lrMse', label: 'LR MSE ↓', digits: 2, clip: [0, Infinity], exp: true },
  { key: 'success', label: 'success (LR MSE ≤ eps)', digits: 2, clip: [0, 1] },
  { key: 'srFaceFound', label: 'face found', digits: 2, clip: [0, 1] },
  { key: 'identityDistance', label: 'identity dist. ↓', digits: 3, clip: [0, Infinity] },
  { key: 'samePerson', label: 'same person (< 0.6)', digits: 2, clip: [0, 1] },
  { key: 'seconds', label: 'time / image (s)', digits: 3, clip: [0, Infinity] },
  { key: 'stepsToEps', label: 'steps until eps', digits: 1, clip: [0, Infinity] },
] as const satisfies readonly { key: keyof OutputRow; label: string; digits: number; clip: readonly [number, number]; exp?: boolean }[];
export type TableMetric = (typeof TABLE_METRICS)[number]['key'];

/** The rows of result lines (ok lines only). */
export function outputRows(lines: readonly BenchResultLine[], persons: ReadonlyMap<string, string | undefined> = new Map()): OutputRow[] {
  const rows: OutputRow[] = [];
  for (const l of lines) {
    if (l.status !== 'ok' || !l.outputs) continue;
    const per = l.seconds / Math.max(1, l.outputs.length);
    l.outputs.forEach((o, k) => {
      rows.push({
        face: l.image,
        person: persons.get(l.image) ?? null,
        method: l.method,
        runSeed: l.seed,
        seed: o.seed,
        solution: k + 1,
        niqe: o.niqe,
        psnr: o.psnr,
        psnrY: o.psnrY,
        ssim: o.ssim,
        ssimY: o.ssimY,
        lrMse: o.lrMse,
        success: o.success ? 1 : 0,
        identityDistance: o.identity?.distance ?? null,
        samePerson: o.identity?.samePerson == null ? null : o.identity.samePerson ? 1 : 0,
        srFaceFound: o.identity ? (o.identity.srFound ? 1 : 0) : null,
        seconds: per,
        stepsToEps: l.solutions?.[k]?.stepsToEps ?? null,
        image: o.image,
      });
    });
  }
  return rows;
}

/** Per face, the mean of a metric over that face's rows (undefined values ignored). */
export function perFaceMeans(rows: readonly OutputRow[], key: keyof OutputRow): number[] {
  const byFace = new Map<string, number[]>();
  for (const r of rows) {
    const v = r[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) continue;
    const list = byFace.get(r.face) ?? [];
    list.push(v);
    byFace.set(r.face, list);
  }
  return [...byFace.values()].map((l) => l.reduce((a, b) => a + b, 0) / l.length);
}

export interface MethodSummary {
  readonly method: BenchMethod;
  readonly description: string;
  /** Faces with at least one finished run of this method. */
  readonly faces: number;
  readonly outputs: number;
  readonly runs: number;
  readonly failed: number;
  readonly missing: number;
  readonly metrics: Readonly<Record<TableMetric | 'psnrY' | 'ssimY', Interval>>;
  /** Outputs without a detected face (identity measured). */
  readonly noFace: number;
  /** With several outputs per face. */
  readonly diversity?: { readonly faces: number; readonly descriptorDistance: Interval; readonly pixelDistance: Interval };
}

/** A plot module's entry point: gets the rows, writes figures under `outDir`, returns their paths. */
export type PlotHook = (input: {
  readonly outDir: string;
  readonly summary: BenchmarkSummary;
  readonly rows: Readonly<Partial<Record<BenchMethod, readonly OutputRow[]>>>;
}) => Promise<string[]>;

export interface BenchmarkSummary {
  readonly generatedAt: string;
  readonly out: string;
  readonly config: BenchmarkConfig;
  readonly faces: number;
  readonly runs: number;
  readonly finished: number;
  readonly failed: number;
  readonly missing: number;
  /** Result lines that are not runs of the current config. */
  readonly ignored: number;
  readonly resultFiles: readonly string[];
  readonly interval: string;
  readonly niqeProtocol: { readonly minSide: number; readonly upscaleFactors: readonly number[]; readonly note: string };
  readonly methods: readonly MethodSummary[];
  readonly distributions: Readonly<Partial<Record<BenchMethod, string>>>;
  readonly figures: readonly string[];
  readonly errors: readonly { id: string; face: string; method: BenchMethod; seed: number; error: string }[];
}

export const INTERVAL_NOTE =
  'mean over faces (each face: the mean over its outputs) with a two-sided 95% Student t-interval, mean ± t(0.975, n−1)·sd/√n, clipped to the range of the metric (shares [0, 1], non-negative values ≥ 0); none for n < 2';

export interface SummarizeOptions {
  readonly log?: (line: string) => void;
  /** Figures from a plot module (see PlotHook). */
  readonly plot?: PlotHook;
}

/** Merges every results file of a benchmark folder into summary.md, summary.json and distributions/*.csv. */
export async function summarizeBenchmark(
  outDir: string,
  options: SummarizeOptions = {},
): Promise<{ summary: BenchmarkSummary; markdownPath: string; jsonPath: string; csvPaths: string[] }> {
  const log = options.log ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const out = resolve(outDir);
  let config: BenchmarkConfig;
  try {
    config = JSON.parse(readFileSync(join(out, BENCH_CONFIG_FILE), 'utf8')) as BenchmarkConfig;
  } catch (err) {
    throw new Error(`${join(out, BENCH_CONFIG_FILE)} cannot be read; run \`pulse benchmark\` into ${out} first`, { cause: err });
  }
  const manifest = readBenchManifest(config.data);
  const plan = planBenchmark(manifest, config);
  const { results, files } = readAllRuns(out, isBenchLine, log);
  const ids = new Set(plan.map((r) => r.id));
  const ignored = [...results.keys()].filter((id) => !ids.has(id)).length;
  if (ignored > 0) log(`notice: ${ignored} result(s) in ${out} are not runs of the current benchmark config; left out`);
  const lines = plan.map((r) => results.get(r.id)).filter((l): l is BenchResultLine => l !== undefined);
  const persons = new Map(manifest.faces.map((f) => [f.id, f.identity]));
  const rows = outputRows(lines, persons);

  const methods: MethodSummary[] = [];
  const rowsBy: Partial<Record<BenchMethod, OutputRow[]>> = {};
  for (const method of config.methods) {
    const mr = rows.filter((r) => r.method === method);
    rowsBy[method] = mr;
    const mPlan = plan.filter((r) => r.method === method);
    const mLines = lines.filter((l) => l.method === method);
    const metrics = {} as Record<TableMetric | 'psnrY' | 'ssimY', Interval>;
    for (const m of TABLE_METRICS) metrics[m.key] = tInterval(perFaceMeans(mr, m.key), 0.95, m.clip);
    metrics.psnrY = tInterval(perFaceMeans(mr, 'psnrY'));
    metrics.ssimY = tInterval(perFaceMeans(mr, 'ssimY'));
    const faceIds = [...new Set(mr.map((r) => r.face))];
    let div: MethodSummary['diversity'];
    const multi = faceIds.filter((f) => mr.filter((r) => r.face === f).length > 1);
    if (multi.length > 0) {
      const perFace: Diversity[] = [];
      for (const f of multi) {
        const faceLines = mLines.filter((l) => l.image === f && l.status === 'ok');
        const sols = [];
        for (const l of faceLines) {
          for (const o of l.outputs ?? []) {
            const { image } = await readImage(join(out, o.image));
            sols.push({ descriptor: o.descriptor ? Float32Array.from(o.descriptor) : null, pixels: Uint8Array.from(image.data, (v) => Math.round(v * 255)) });
          }
        }
        perFace.push(diversity(sols));
      }
      div = {
        faces: multi.length,
        descriptorDistance: tInterval(perFace.map((d) => d.meanDescriptorDistance ?? NaN)),
        pixelDistance: tInterval(perFace.map((d) => d.meanPixelDistance ?? NaN)),
      };
    }
    methods.push({
      method,
      description: mLines.find((l) => l.status === 'ok')?.model ?? '',
      faces: faceIds.length,
      outputs: mr.length,
      runs: mPlan.length,
      failed: mLines.filter((l) => l.status === 'error').length,
      missing: mPlan.length - mLines.length,
      metrics,
      noFace: mr.filter((r) => r.srFaceFound === 0).length,
      ...(div ? { diversity: div } : {}),
    });
  }

  // Distributions (for plots) and figures.
  const distDir = join(out, 'distributions');
  mkdirSync(distDir, { recursive: true });
  const csvPaths: string[] = [];
  const distributions: Partial<Record<BenchMethod, string>> = {};
  for (const method of config.methods) {
    const path = join(distDir, `${method}.csv`);
    const mr = rowsBy[method] ?? [];
    writeFileAtomic(path, toCsv([OUTPUT_COLUMNS as readonly string[], ...mr.map((r) => OUTPUT_COLUMNS.map((c) => r[c]))]), true);
    csvPaths.push(path);
    distributions[method] = relative(out, path);
  }
  const upscaleFactors = [...new Set(lines.flatMap((l) => (l.outputs ?? []).map((o) => o.niqeUpscale)))].sort((a, b) => a - b);
  const errors = lines
    .filter((l) => l.status === 'error')
    .map((l) => ({ id: l.id, face: l.image, method: l.method, seed: l.seed, error: l.error ?? '' }));
  let summary: BenchmarkSummary = {
    generatedAt: new Date().toISOString(),
    out,
    config,
    faces: manifest.faces.length,
    runs: plan.length,
    finished: lines.length - errors.length,
    failed: errors.length,
    missing: plan.length - lines.length,
    ignored,
    resultFiles: files.map((f) => relative(out, f)),
    interval: INTERVAL_NOTE,
    niqeProtocol: {
      minSide: config.niqe.minSide,
      upscaleFactors,
      note: 'every output (HR included) upscaled with upscaleForNiqe (MATLAB bicubic, power-of-two factor) before NIQE; comparable only within this table',
    },
    methods,
    distributions,
    figures: [],
    errors,
  };
  if (options.plot) {
    const figures = await options.plot({ outDir: out, summary, rows: rowsBy });
    summary = { ...summary, figures: figures.map((f) => relative(out, resolve(out, f))) };
  }
  const markdownPath = join(out, 'summary.md');
  const jsonPath = join(out, 'summary.json');
  writeFileAtomic(markdownPath, renderSummaryMarkdown(summary), true);
  writeJsonAtomic(jsonPath, summary, true);
  log(`benchmark summary: ${summary.finished} of ${summary.runs} runs finished, ${summary.failed} failed, ${summary.missing} not run -> ${markdownPath}`);
  return { summary, markdownPath, jsonPath, csvPaths };
}

// ---------------------------------------------------------------------------------------------
// Markdown

function fmt(x: number | null, digits: number, exp = false): string {
  if (x === null || !Number.isFinite(x)) return '—';
  return exp ? x.toExponential(digits) : x.toFixed(digits);
}

/** "3.90 [3.71, 4.09]", "3.90" (one face), or "—". */
export function formatInterval(i: Interval, digits: number, exp = false): string {
  if (i.mean === null) return '—';
  const m = fmt(i.mean, digits, exp);
  return i.low === null || i.high === null ? m : `${m} [${fmt(i.low, digits, exp)}, ${fmt(i.high, digits, exp)}]`;
}

/** The header of the summary table (method, then TABLE_METRICS' labels, then faces). */
export function tableHeader(): string[] {
  return ['Method', ...TABLE_METRICS.map((m) => m.label), 'faces'];
}

export function renderSummaryMarkdown(s: BenchmarkSummary): string {
  const c = s.config;
  const low = c.lowResolution;
  const lines: string[] = [];
  const niqeK = s.niqeProtocol.upscaleFactors.length ? s.niqeProtocol.upscaleFactors.map((k) => `×${k}`).join(', ') : 'n/a';
  lines.push(`# Benchmark: ${low}×${low} → ${c.size}×${c.size} (${c.factor}×)`);
  lines.push('');
  lines.push(
    `${s.faces} faces from \`${c.data}\`; ${s.finished} of ${s.runs} runs finished` +
      `${s.failed ? `, ${s.failed} failed` : ''}${s.missing ? `, ${s.missing} not run yet` : ''}. Generated ${s.generatedAt}.`,
  );
  lines.push('');
  const header = tableHeader();
  lines.push(`| ${header.join(' | ')} |`);
  lines.push(`|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const m of s.methods) {
    const cells = TABLE_METRICS.map((t) => {
      if (m.method === 'hr' && (t.key === 'psnr' || t.key === 'ssim' || t.key === 'identityDistance' || t.key === 'samePerson')) return 'ref.';
      return formatInterval(m.metrics[t.key], t.digits, 'exp' in t && t.exp);
    });
    lines.push(`| ${m.method === 'hr' ? 'HR' : m.method} | ${cells.join(' | ')} | ${m.faces} |`);
  }
  lines.push('');
  lines.push('Notes:');
  if (c.niqe.params === null) {
    lines.push(`- **NIQE not measured**: ${c.niqe.missing ?? 'no NIQE model'}. Its column is empty; the other measures are complete.`);
  }
  lines.push(
    `- **NIQE protocol**: every image — HR and every method's output alike — was upscaled with \`upscaleForNiqe\` ` +
      `(MATLAB bicubic, a = −0.5, by the smallest power of two giving a side ≥ ${s.niqeProtocol.minSide}: ${niqeK} here) before NIQE ` +
      `(BasicSR port, lower is better). These NIQEs compare methods within this table only, not with NIQE at native resolution or the paper's numbers.`,
  );
  lines.push(`- Cells: ${s.interval}.`);
  lines.push(
    `- PSNR, SSIM (RGB, scikit-image settings) against the HR on the 8-bit outputs as saved; Y-channel values are in summary.json and the CSVs.`,
  );
  lines.push(
    `- LR MSE: the output downscaled with PULSE's BicubicDownsampler vs the LR input ([0, 1] scale); success: LR MSE ≤ eps = ${c.eps} for every method ` +
      `(PULSE's own criterion, on its unrounded outputs, is in the result lines).`,
  );
  lines.push(
    c.identity
      ? `- Identity: face-api descriptor distance between output and HR; same person: distance < ${c.sameThreshold} (face-api's threshold; LFW same person ≈ 0.45–0.60, different ≈ 0.79–0.90). ` +
          'Face found: share of outputs in which the detector finds a face. An output without a face has no distance and counts as not the same person; faces whose HR has no detected face are left out of both. ' +
          'PULSE is not meant to recover identity (it invents a plausible face that downscales to the input); the same-person share measures that claim.'
      : '- Identity: not measured (--no-identity).',
  );
  lines.push(`- Time: the method alone per output image, on backend(s) of the result lines; metrics not included.`);
  lines.push(`- Methods: ${s.methods.map((m) => `**${m.method}**: ${m.description || '—'}`).join('; ')}.`);
  if (c.pulse) {
    lines.push(
      `- PULSE: ${c.pulse.steps} steps, loss ${c.pulse.loss}, lr ${c.pulse.learningRate}, eps ${c.pulse.eps}, ${c.pulse.duplicates} solution(s) per run, seeds ${c.seeds.join(', ')}; model ${c.model}.`,
    );
  }
  const div = s.methods.filter((m) => m.diversity);
  if (div.length) {
    lines.push('');
    lines.push('## Diversity of solutions per face');
    lines.push('');
    lines.push('| Method | faces | mean pairwise descriptor distance | mean pairwise RMS pixel distance ([0, 1]) |');
    lines.push('|---|---:|---:|---:|');
    for (const m of div) {
      lines.push(`| ${m.method} | ${m.diversity!.faces} | ${formatInterval(m.diversity!.descriptorDistance, 3)} | ${formatInterval(m.diversity!.pixelDistance, 4)} |`);
    }
  }
  lines.push('');
  lines.push(`Per-output values: ${Object.values(s.distributions).map((p) => `\`${p}\``).join(', ')}.`);
  if (s.figures.length) {
    lines.push('');
    lines.push('## Figures');
    lines.push('');
    // Images inline; other files (the plotly JSON) as links.
    for (const f of s.figures) lines.push(/\.(svg|png)$/i.test(f) ? `![${f}](${f})` : `- [${f}](${f})`);
  }
  if (s.errors.length) {
    lines.push('');
    lines.push('## Errors');
    lines.push('');
    for (const e of s.errors) lines.push(`- ${e.face} ${e.method} seed ${e.seed}: ${e.error.replace(/\n/g, ' ')}`);
  }
  return `${lines.join('\n')}\n`;
}
