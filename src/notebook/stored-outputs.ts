/**
 * The outputs stored in a notebook file (.ipynb, nbformat 4): which are figures, and bringing
 * stored plot outputs up to what `showPlot` sends now without running the notebook again
 * (scripts/notebook-add-png.ts).
 *
 * Files are written the way nbformat writes them (Python's json.dumps: keys sorted, one space
 * of indent, non-ASCII kept, Python's number format, a final newline), so a file nobody
 * changed is written back byte for byte and a diff shows only what was added.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { PLOTLY_MIME, staticPlotImages } from './display.js';
import type { PlotPngOptions } from '../plot/plot-png.js';

/** One output of a code cell, as nbformat 4 stores it (other fields are kept as they are). */
export interface StoredOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

export interface StoredNotebook {
  nbformat: number;
  cells: { cell_type: string; source: string | string[]; outputs?: StoredOutput[] }[];
  metadata: Record<string, unknown>;
}

/** MIME types that make an output a figure (a picture a reader should see). */
export const FIGURE_MIMES: readonly string[] = ['image/png', 'image/jpeg', 'image/svg+xml', PLOTLY_MIME];

/** nbformat's multi-line strings are stored as a list of lines. */
export function joinStored(value: unknown): string {
  return Array.isArray(value) ? value.join('') : String(value ?? '');
}

export function readNotebook(file: string): StoredNotebook {
  let nb: StoredNotebook;
  try {
    nb = JSON.parse(readFileSync(file, 'utf8')) as StoredNotebook;
  } catch (err) {
    throw new Error(`${file}: not a readable notebook (${err instanceof Error ? err.message : String(err)})`);
  }
  if (nb?.nbformat !== 4 || !Array.isArray(nb.cells)) throw new Error(`${file}: not an nbformat 4 notebook (nbformat ${String(nb?.nbformat)})`);
  return nb;
}

/** Every output of every code cell, in order. */
export function storedOutputs(nb: StoredNotebook): StoredOutput[] {
  return nb.cells.filter((c) => c.cell_type === 'code').flatMap((c) => c.outputs ?? []);
}

/** Outputs that carry a figure: an image or a plot (see `FIGURE_MIMES`). */
export function figureOutputs(nb: StoredNotebook): StoredOutput[] {
  return storedOutputs(nb).filter((o) => o.data !== undefined && FIGURE_MIMES.some((m) => m in o.data!));
}

/** Plot outputs (plotly JSON) with a static SVG and no PNG (`redraw`: with or without). */
export function plotsWithoutPng(nb: StoredNotebook, redraw = false): StoredOutput[] {
  return storedOutputs(nb).filter((o) => o.data && PLOTLY_MIME in o.data && 'image/svg+xml' in o.data && (redraw || !('image/png' in o.data)));
}

export interface AddPlotPngOptions extends PlotPngOptions {
  /** Draw the PNG again where there is one already (after a change in how it is drawn). */
  readonly redraw?: boolean;
}

/**
 * Adds the PNG of its stored SVG to every plot output that lacks one, drawn by the function
 * `showPlot` uses (`staticPlotImages`), or to every plot output with `redraw`; the rest of the
 * notebook is left as it is. Returns the number of outputs changed (0 on a second run).
 */
export async function addPlotPngs(nb: StoredNotebook, options: AddPlotPngOptions = {}): Promise<number> {
  const todo = plotsWithoutPng(nb, options.redraw);
  let changed = 0;
  for (const output of todo) {
    const images = await staticPlotImages(joinStored(output.data!['image/svg+xml']), options);
    if (output.data!['image/png'] === images.data['image/png']) continue;
    output.data!['image/png'] = images.data['image/png'];
    output.metadata = { ...(output.metadata ?? {}), ...images.metadata };
    changed++;
  }
  return changed;
}

/**
 * A number as Python's `json.dumps` writes it. The notebook's numbers came from JavaScript
 * (JSON from the kernel), so integer values are Python ints (written plainly) and the rest are
 * floats, which Python writes in its shortest round-trip form, as JavaScript does, but with an
 * exponent below 1e-4 and from 1e16 up, and at least two exponent digits (`8.5e-05`).
 */
export function pythonJsonNumber(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`notebook JSON cannot hold the number ${x}`);
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return x.toFixed(0);
  const [mantissa, expText] = x.toExponential().split('e');
  const exp = Number(expText);
  if (exp >= -4 && exp < 16) return String(x);
  return `${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** `json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)`, which nbformat writes. */
function pythonJson(value: unknown, indent: string): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return pythonJsonNumber(value);
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  const inner = `${indent} `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + pythonJson(v, inner)).join(',\n')}\n${indent}]`;
  }
  if (typeof value === 'object') {
    const keys = Object.keys(value).sort();
    if (keys.length === 0) return '{}';
    const entries = keys.map((k) => `${inner}${JSON.stringify(k)}: ${pythonJson((value as Record<string, unknown>)[k], inner)}`);
    return `{\n${entries.join(',\n')}\n${indent}}`;
  }
  throw new Error(`notebook JSON cannot hold a ${typeof value}`);
}

/** The file text nbformat would write for `nb`. */
export function notebookText(nb: StoredNotebook): string {
  return `${pythonJson(nb, '')}\n`;
}

/** Writes `nb` to `file` through a temporary file beside it (a crash leaves the old file whole). */
export function writeNotebook(file: string, nb: StoredNotebook): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, notebookText(nb));
  renameSync(tmp, file);
}
