/**
 * A figure of a few benchmark faces: one row per face, LR input | bicubic | every PULSE solution
 * of the first seed | HR, read from a finished `pulse benchmark` folder and its bench data (only
 * the runs of the folder's current config, as the summary reads them).
 *
 * Tiles are shown at `height` px: images larger than that are first reduced with lanczos3, smaller
 * ones (the LR input) enlarged by nearest neighbour so their pixels stay visible.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type RgbImage, montage, readImage, resizeImage } from '../io/image.js';
import { readAllRuns } from '../run-store/store.js';
import { readBenchManifest } from './bench-data.js';
import { BENCH_CONFIG_FILE, type BenchmarkConfig } from './benchmark-config.js';
import { planBenchmark } from './plan.js';
import { type BenchResultLine, isBenchLine } from './result-line.js';

export interface FacesFigureOptions {
  /** A `pulse benchmark` output folder (benchmark.json, results*.jsonl, images/). */
  readonly bench: string;
  /** Rows: the first `faces` faces of the bench data that have a PULSE result (default 4). */
  readonly faces?: number;
  /** Tile height in px (default: the HR side, at most 256). */
  readonly height?: number;
}

export interface FacesFigure {
  readonly image: RgbImage;
  /** The faces shown, top to bottom. */
  readonly faces: string[];
  /** Column labels of the rows. */
  readonly columns: string[];
}

/** The lines of the folder's current config, by face and method (ok lines only). */
function currentLines(bench: string): { config: BenchmarkConfig; lines: BenchResultLine[] } {
  const config = JSON.parse(readFileSync(join(bench, BENCH_CONFIG_FILE), 'utf8')) as BenchmarkConfig;
  const plan = planBenchmark(readBenchManifest(config.data), config);
  const { results } = readAllRuns(bench, isBenchLine);
  const lines = plan.map((r) => results.get(r.id)).filter((l): l is BenchResultLine => l !== undefined && l.status === 'ok');
  return { config, lines };
}

async function tile(path: string, height: number): Promise<RgbImage> {
  const { image } = await readImage(path);
  return image.height > height ? resizeImage(image, Math.round((image.width * height) / image.height), height, 'lanczos3') : image;
}

/** Vertical stack of strips (white gap rows between them; narrower strips padded white on the right). */
export function stackRows(rows: readonly RgbImage[], gap = 8): RgbImage {
  if (rows.length === 0) throw new Error('stackRows needs at least one row');
  const width = Math.max(...rows.map((r) => r.width));
  const height = rows.reduce((s, r) => s + r.height, 0) + gap * (rows.length - 1);
  const data = new Float32Array(width * height * 3).fill(1);
  let top = 0;
  for (const r of rows) {
    for (let y = 0; y < r.height; y++) data.set(r.data.subarray(y * r.width * 3, (y + 1) * r.width * 3), ((top + y) * width) * 3);
    top += r.height + gap;
  }
  return { width, height, data };
}

export async function benchmarkFacesFigure(options: FacesFigureOptions): Promise<FacesFigure> {
  const bench = resolve(options.bench);
  const { config, lines } = currentLines(bench);
  const manifest = readBenchManifest(config.data);
  const height = options.height ?? Math.min(manifest.size, 256);
  const pulseSeed = config.seeds[0];
  const chosen = manifest.faces.filter((f) => lines.some((l) => l.image === f.id && l.method === 'pulse' && l.seed === pulseSeed)).slice(0, options.faces ?? 4);
  if (chosen.length === 0) throw new Error(`${bench} has no finished PULSE run of its current config; run the benchmark first`);
  const rows: RgbImage[] = [];
  let columns: string[] = [];
  for (const face of chosen) {
    const of = (method: string) => lines.find((l) => l.image === face.id && l.method === method && (method !== 'pulse' || l.seed === pulseSeed));
    const low = config.lowResolution;
    const images: RgbImage[] = [await tile(join(config.data, face.lr[String(config.factor)].file), height)];
    const labels = [`LR ${low}x${low}`];
    const bicubic = of('bicubic');
    if (bicubic?.outputs?.[0]) {
      images.push(await tile(join(bench, bicubic.outputs[0].image), height));
      labels.push('bicubic');
    }
    const pulse = of('pulse')!;
    for (const [k, o] of (pulse.outputs ?? []).entries()) {
      images.push(await tile(join(bench, o.image), height));
      labels.push(`PULSE ${k + 1}`);
    }
    images.push(await tile(join(config.data, face.hr.file), height));
    labels.push(`HR ${manifest.size}`);
    rows.push(await montage(images, { height, labels }));
    columns = labels;
  }
  return { image: stackRows(rows), faces: chosen.map((f) => f.id), columns };
}
