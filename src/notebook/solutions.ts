/**
 * Many PULSE solutions for one input (notebooks/04-multiple-solutions.ipynb): starting points
 * that resample only the latent or only the noise, and the distances between solutions.
 *
 * A PULSE search starts from a Gaussian latent (L rows of 512) and one random noise map per
 * layer, both drawn from the solution's seed (src/pulse/search-init.ts: solution k of a batch uses seed
 * + k for both). `resampledInit` draws the latent from one list of seeds and the noise from
 * another, so that a batch can share its latent start and differ only in noise, or the reverse;
 * it is handed to `runPulse` through its `init` hook. Everything else about the search is
 * unchanged (the same options, the same number of steps, trainable noise layers still trained).
 *
 * Distances: the RMS difference of the 8-bit images on the [0, 1] scale
 * (src/benchmark/identity.ts `pixelDistance`, as the benchmark's diversity measure), and the
 * Euclidean distance of face-api descriptors (src/eval/face-analysis.ts; < 0.6 is face-api's
 * "same person"), null where a face was not found.
 */
import { type RgbImage, assertRgbImage, toBytesLikeTorchvision } from '../io/image.js';
import { pixelDistance } from '../benchmark/identity.js';
import { descriptorDistance } from '../eval/descriptor-distance.js';
import { type InitSpec, type SearchInit, drawInit } from '../pulse/search-init.js';
import type { PlotlyFigure, PlotlyTrace } from '../plot/plot-svg.js';

/** How a batch of starting points is drawn. */
export interface ResampleSpec extends Omit<InitSpec, 'seeds'> {
  /** The seed of each solution's latent. */
  readonly latentSeeds: readonly number[];
  /** The seed of each solution's noise maps (same length). */
  readonly noiseSeeds: readonly number[];
}

/**
 * Starting points whose latent comes from `latentSeeds[k]` and whose noise comes from
 * `noiseSeeds[k]`: with both lists equal it is exactly `drawInit({ seeds })`.
 */
export function resampledInit(spec: ResampleSpec): SearchInit {
  const { latentSeeds, noiseSeeds, ...rest } = spec;
  if (latentSeeds.length !== noiseSeeds.length) throw new Error(`${latentSeeds.length} latent seeds but ${noiseSeeds.length} noise seeds`);
  if (latentSeeds.length === 0) throw new Error('no solutions: give at least one seed');
  const latent = drawInit({ ...rest, seeds: latentSeeds });
  const noise = drawInit({ ...rest, seeds: noiseSeeds });
  return { latent: latent.latent, latentRows: latent.latentRows, noise: noise.noise };
}

/** The three ways to get N solutions for one input, compared in 04. */
export type ResampleDesign = 'both' | 'latent' | 'noise';

export const DESIGN_LABELS: Readonly<Record<ResampleDesign, string>> = {
  both: 'latent and noise resampled (PULSE default)',
  latent: 'latent resampled, noise fixed',
  noise: 'noise resampled, latent fixed',
};

/** Seeds of a design: solution k resamples what the design varies (seed + k) and keeps the rest at `seed`. */
export function designSeeds(design: ResampleDesign, seed: number, n: number): { latentSeeds: number[]; noiseSeeds: number[] } {
  if (!Number.isInteger(n) || n < 1) throw new Error(`n=${n} must be a positive integer`);
  const varying = Array.from({ length: n }, (_, k) => seed + k);
  const fixed = Array.from({ length: n }, () => seed);
  switch (design) {
    case 'both':
      return { latentSeeds: varying, noiseSeeds: varying };
    case 'latent':
      return { latentSeeds: varying, noiseSeeds: fixed };
    case 'noise':
      return { latentSeeds: fixed, noiseSeeds: varying };
    default:
      throw new Error(`unknown design "${String(design)}"; designs: both, latent, noise`);
  }
}

// ---------------------------------------------------------------------------------------------
// Distances

/** RMS difference of two images after 8-bit rounding (as saved), on the [0, 1] scale. */
export function imageDistance(a: RgbImage, b: RgbImage): number {
  assertRgbImage(a, 'first image');
  assertRgbImage(b, 'second image');
  if (a.width !== b.width || a.height !== b.height) throw new Error(`images are ${a.width}x${a.height} and ${b.width}x${b.height}`);
  return pixelDistance(toBytesLikeTorchvision(a.data), toBytesLikeTorchvision(b.data));
}

/** Euclidean distance of two descriptors, null when either is missing (no face found). */
export function descriptorGap(a: Float32Array | null, b: Float32Array | null): number | null {
  return a && b ? descriptorDistance(a, b) : null;
}

/** The symmetric matrix of `dist` over all pairs (0 on the diagonal, null where dist is null). */
export function pairwiseMatrix<T>(items: readonly T[], dist: (a: T, b: T) => number | null): (number | null)[][] {
  const m: (number | null)[][] = items.map(() => items.map(() => 0 as number | null));
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const d = dist(items[i], items[j]);
      m[i][j] = d;
      m[j][i] = d;
    }
  }
  return m;
}

/** The values above the diagonal that are numbers (each unordered pair once). */
export function upperTriangle(matrix: readonly (readonly (number | null)[])[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < matrix.length; i++) {
    for (let j = i + 1; j < matrix.length; j++) {
      const v = matrix[i][j];
      if (typeof v === 'number' && Number.isFinite(v)) out.push(v);
    }
  }
  return out;
}

/** A matrix as table rows: the first column names the row, one column per item. */
export function matrixRows(labels: readonly string[], matrix: readonly (readonly (number | null)[])[], corner = ''): Record<string, unknown>[] {
  return matrix.map((row, i) => {
    const r: Record<string, unknown> = { [corner]: labels[i] };
    row.forEach((v, j) => (r[labels[j]] = i === j ? '—' : v === null ? 'no face' : v));
    return r;
  });
}

export interface Stats {
  readonly n: number;
  readonly mean: number | null;
  readonly min: number | null;
  readonly max: number | null;
}

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) return { n: 0, mean: null, min: null, max: null };
  return { n: values.length, mean: values.reduce((a, b) => a + b, 0) / values.length, min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Where the solutions differ: the per-pixel standard deviation over the images (mean over the
 * three channels), as a grey image scaled so that `scaleMax` (default: the largest value) is white.
 */
export function spreadImage(images: readonly RgbImage[], scaleMax?: number): { image: RgbImage; max: number } {
  if (images.length === 0) throw new Error('no images');
  const { width, height } = images[0];
  images.forEach((im, i) => {
    assertRgbImage(im, `image ${i}`);
    if (im.width !== width || im.height !== height) throw new Error(`image ${i} is ${im.width}x${im.height}; the first is ${width}x${height}`);
  });
  const n = images.length;
  const px = width * height;
  const sd = new Float32Array(px);
  for (let p = 0; p < px; p++) {
    let acc = 0;
    for (let c = 0; c < 3; c++) {
      let s = 0;
      let s2 = 0;
      for (const im of images) {
        const v = Math.min(1, Math.max(0, im.data[p * 3 + c]));
        s += v;
        s2 += v * v;
      }
      const m = s / n;
      acc += Math.sqrt(Math.max(0, s2 / n - m * m));
    }
    sd[p] = acc / 3;
  }
  let max = 0;
  for (let p = 0; p < px; p++) max = Math.max(max, sd[p]);
  const top = scaleMax ?? max;
  const data = new Float32Array(px * 3);
  for (let p = 0; p < px; p++) {
    const v = top > 0 ? Math.min(1, sd[p] / top) : 0;
    data[p * 3] = v;
    data[p * 3 + 1] = v;
    data[p * 3 + 2] = v;
  }
  return { image: { width, height, data }, max };
}

// ---------------------------------------------------------------------------------------------
// Figures

const DESIGN_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

/**
 * Pairwise distances per design (box plots with every pair as a point): pixels on the left,
 * face descriptors on the right (with face-api's 0.6 same-person line), and each solution's
 * distance to the true face as a second box per design.
 */
export function distanceFigure(
  groups: readonly { label: string; pixelPairs: readonly number[]; descriptorPairs: readonly number[]; pixelToTrue: readonly number[]; descriptorToTrue: readonly number[] }[],
  options: { sameThreshold?: number; title?: string } = {},
): PlotlyFigure {
  const data: PlotlyTrace[] = [];
  groups.forEach((g, i) => {
    const color = DESIGN_COLORS[i % DESIGN_COLORS.length];
    const common = { type: 'box', boxpoints: 'all', jitter: 0.35, pointpos: 0, legendgroup: g.label, marker: { color, size: 5 }, line: { color } };
    data.push({ ...common, name: g.label, x: g.pixelPairs.map(() => 'between solutions'), y: [...g.pixelPairs], xaxis: 'x', yaxis: 'y', offsetgroup: String(i) });
    data.push({ ...common, name: g.label, x: g.pixelToTrue.map(() => 'to the true face'), y: [...g.pixelToTrue], xaxis: 'x', yaxis: 'y', offsetgroup: String(i), showlegend: false });
    data.push({ ...common, name: g.label, x: g.descriptorPairs.map(() => 'between solutions'), y: [...g.descriptorPairs], xaxis: 'x2', yaxis: 'y2', offsetgroup: String(i), showlegend: false });
    data.push({ ...common, name: g.label, x: g.descriptorToTrue.map(() => 'to the true face'), y: [...g.descriptorToTrue], xaxis: 'x2', yaxis: 'y2', offsetgroup: String(i), showlegend: false });
  });
  const threshold = options.sameThreshold ?? 0.6;
  data.push({
    type: 'scatter',
    mode: 'lines',
    name: `same person < ${threshold} (face-api)`,
    x: ['between solutions', 'to the true face'],
    y: [threshold, threshold],
    xaxis: 'x2',
    yaxis: 'y2',
    line: { color: 'black', dash: 'dash', width: 1 },
  });
  const noDescriptors = groups.every((g) => g.descriptorPairs.length === 0 && g.descriptorToTrue.length === 0);
  const annotations = noDescriptors
    ? [{ text: 'no descriptor distances:<br>face-api found no face in the solutions', x: 0.78, y: 0.5, xref: 'paper', yref: 'paper', showarrow: false, font: { size: 13, color: '#555' } }]
    : [];
  return {
    data,
    layout: {
      title: { text: options.title ?? 'Distances: between solutions, and to the true face' },
      annotations,
      width: 960,
      height: 460,
      boxmode: 'group',
      margin: { t: 110 },
      legend: { orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom' },
      xaxis: { domain: [0, 0.44], type: 'category', categoryorder: 'array', categoryarray: ['between solutions', 'to the true face'] },
      yaxis: { anchor: 'x', title: { text: 'RMS pixel distance ([0, 1])' }, rangemode: 'tozero' },
      xaxis2: { domain: [0.56, 1], anchor: 'y2', type: 'category', categoryorder: 'array', categoryarray: ['between solutions', 'to the true face'] },
      yaxis2: { anchor: 'x2', title: { text: 'face descriptor distance' }, rangemode: 'tozero' },
    },
  };
}
