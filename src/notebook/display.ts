/**
 * What a notebook shows: images, plots and tables as Jupyter display data, for the tslab
 * kernel (TypeScript in Jupyter).
 *
 * Every helper builds a MIME bundle first (pure functions: `imageBundle`, `plotBundle`,
 * `tableBundle`, `markdownBundle`), then hands it to the display sink, so that one output can
 * carry several representations and each front end picks the richest it renders:
 *
 * - `showImage`: `image/png` (8-bit, converted as `writePng` does) + `text/plain`.
 * - `showPlot`: `application/vnd.plotly.v1+json` (interactive in JupyterLab with plotly's
 *   extension, and in VS Code) + `image/svg+xml` (a static render, see src/plot/plot-svg.ts; shown by
 *   nbconvert, GitHub and trusted notebooks) + `image/png` (the same SVG drawn by sharp, see
 *   src/plot/plot-png.ts; shown in untrusted notebooks too, which Jupyter will not show SVG in) +
 *   `text/plain`, in ONE output. A figure that cannot be drawn statically keeps the plotly
 *   JSON and gets a text description instead.
 * - `showTable`: `text/html` + `text/plain` (aligned columns).
 * - `showMarkdown`: `text/markdown` + `text/plain`.
 *
 * How the bundle reaches Jupyter: tslab's public API (`import * as tslab from 'tslab'`,
 * `tslab.display.png(bytes)`, `.html(s)`, `.raw(mime, data)`, ...) sends one display_data
 * message per call with exactly ONE MIME type (tslab 1.0.22, dist/public.js): two calls make
 * two outputs, and a front end would draw the plot twice. tslab's kernel keeps the function
 * that writes a display_data message for the running cell in its `jupyter` module
 * (`lastWriteDisplayData`, which `display.raw` itself calls with `{ data: { [mime]: value },
 * metadata, transient }`); the default sink calls it with the whole bundle, which is the
 * message Jupyter's protocol defines. That function is tslab-internal, so it is looked up
 * defensively; without it the sink falls back to the public API with the single most
 * portable type of the bundle (and says so once), and outside a kernel it prints the
 * `text/plain` part. `setDisplaySink` replaces the sink (tests, other front ends).
 */
import { createRequire } from 'node:module';
import sharp from 'sharp';
import type * as Tslab from 'tslab';
import { type RgbImage, assertRgbImage, montage, toBytesLikeTorchvision } from '../io/image.js';
import { type PlotPngOptions, svgToPng } from '../plot/plot-png.js';
import { type PlotSvgOptions, type PlotlyFigure, renderPlotSvg } from '../plot/plot-svg.js';

/** Jupyter display data: MIME type -> value (a string, base64 for binary types, or JSON for `+json` types). */
export type MimeBundle = Readonly<Record<string, string | object>>;

/** One display_data message's content, less the transient part. */
export interface DisplayMessage {
  readonly data: MimeBundle;
  readonly metadata: Readonly<Record<string, unknown>>;
}

export type DisplaySink = (message: DisplayMessage) => void;

export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** Representations in the order a front end without rich renderers should prefer. */
const PORTABLE_ORDER = ['image/png', 'image/svg+xml', 'text/html', 'text/markdown', 'text/plain'];

// ---------------------------------------------------------------------------------------------
// Sinks

type WriteDisplayData = (content: { data: MimeBundle; metadata: object; transient: object }, update: boolean) => void;

let customSink: DisplaySink | null = null;
let warnedFallback = false;

/** Sends every later display through `sink` (null: back to the default, see the file comment). */
export function setDisplaySink(sink: DisplaySink | null): void {
  customSink = sink;
}

/**
 * The tslab kernel's display_data writer for the running cell, found in a module cache
 * (`require.cache`): the loaded `tslab/dist/jupyter.js` whose `lastWriteDisplayData` is set.
 * Null outside a tslab kernel (or if tslab's internals change).
 */
export function findKernelWriter(cache: Readonly<Record<string, { exports?: unknown } | undefined>>): WriteDisplayData | null {
  for (const [file, mod] of Object.entries(cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(file)) continue;
    const write = (mod?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    if (typeof write === 'function') return write as WriteDisplayData;
  }
  return null;
}

/** The richest single type tslab's public `display.raw` should get when bundles cannot be sent. */
export function portableMime(bundle: MimeBundle): string | undefined {
  return PORTABLE_ORDER.find((m) => m in bundle) ?? Object.keys(bundle)[0];
}

function defaultSink(message: DisplayMessage): void {
  const require = createRequire(import.meta.url);
  const write = findKernelWriter(require.cache);
  if (write) {
    write({ data: message.data, metadata: message.metadata, transient: {} }, false);
    return;
  }
  let tslab: typeof Tslab | null = null;
  if (Object.keys(require.cache).some((f) => /[\\/]tslab[\\/]dist[\\/]/.test(f))) {
    try {
      tslab = require('tslab') as typeof Tslab;
    } catch {
      tslab = null;
    }
  }
  const mime = portableMime(message.data);
  if (tslab && mime) {
    if (!warnedFallback) {
      warnedFallback = true;
      process.stderr.write('display: tslab internals not found; showing one representation per output\n');
    }
    const value = message.data[mime];
    const isBinary = mime.startsWith('image/') && mime !== 'image/svg+xml';
    tslab.display.raw(mime, isBinary ? Buffer.from(String(value), 'base64') : typeof value === 'string' ? value : JSON.stringify(value));
    return;
  }
  // Not in a kernel (a plain `tsx` run of notebook code): the text part.
  const text = message.data['text/plain'];
  process.stdout.write(`${typeof text === 'string' ? text : JSON.stringify(text)}\n`);
}

function send(message: DisplayMessage): void {
  (customSink ?? defaultSink)(message);
}

// ---------------------------------------------------------------------------------------------
// Images

export interface ShowImageOptions {
  /** One label per image (montage label band). */
  readonly labels?: readonly string[];
  /** Display height of every tile in pixels (nearest-neighbour scaling); default max(tallest image, 128). */
  readonly height?: number;
  /** White pixels between tiles (default 4). */
  readonly gap?: number;
  /** Alt text (text/plain); default a description of the tiles. */
  readonly alt?: string;
}

/** The 8-bit PNG of an RGB image (values clamped to [0,1], converted like `writePng`). */
export async function encodePng(image: RgbImage): Promise<Buffer> {
  assertRgbImage(image);
  return sharp(toBytesLikeTorchvision(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}

/** `image/png` (one image, or a labelled strip of several) + `text/plain`. */
export async function imageBundle(images: RgbImage | readonly RgbImage[], options: ShowImageOptions = {}): Promise<DisplayMessage> {
  const list = Array.isArray(images) ? (images as readonly RgbImage[]) : [images as RgbImage];
  if (list.length === 0) throw new Error('showImage needs at least one image');
  list.forEach((im, i) => assertRgbImage(im, `image ${i}`));
  const height = options.height ?? Math.max(128, ...list.map((im) => im.height));
  const single = list.length === 1 && !options.labels?.length && options.height === undefined && list[0].height >= height;
  const strip = single ? list[0] : await montage([...list], { height, labels: options.labels ? [...options.labels] : undefined, gap: options.gap });
  const png = await encodePng(strip);
  const sizes = list.map((im, i) => `${options.labels?.[i] ? `${options.labels[i]} ` : ''}(${im.width}x${im.height})`).join(' | ');
  const alt = options.alt ?? (list.length === 1 ? `image ${sizes}` : `${list.length} images: ${sizes}`);
  return {
    data: { 'image/png': png.toString('base64'), 'text/plain': alt },
    metadata: { 'image/png': { width: strip.width, height: strip.height } },
  };
}

/** Shows one image, or several side by side with labels (see `ShowImageOptions`). */
export async function showImage(images: RgbImage | readonly RgbImage[], options: ShowImageOptions = {}): Promise<void> {
  send(await imageBundle(images, options));
}

// ---------------------------------------------------------------------------------------------
// Plots

export type { PlotlyFigure, PlotlyTrace } from '../plot/plot-svg.js';

export type ShowPlotOptions = PlotSvgOptions & PlotPngOptions;

/**
 * A plot's static images as bundle parts: the SVG and its PNG (`image/png`, drawn at
 * `options.scale`, with the SVG's size as display metadata).
 * `showPlot` and scripts/notebook-add-png.ts (which upgrades stored outputs) both use it.
 */
export async function staticPlotImages(svg: string, options: PlotPngOptions = {}): Promise<DisplayMessage> {
  const { png, width, height } = await svgToPng(svg, options);
  return { data: { 'image/svg+xml': svg, 'image/png': png.toString('base64') }, metadata: { 'image/png': { width, height } } };
}

/**
 * One output with the plotly JSON, a static SVG, its PNG and a text description; without
 * SVG (a trace type that needs a browser) the text says why.
 */
export async function plotBundle(figure: PlotlyFigure, options: ShowPlotOptions = {}): Promise<DisplayMessage> {
  const rendered = await renderPlotSvg(figure, options);
  const json = JSON.parse(JSON.stringify({ data: figure.data, layout: figure.layout ?? {} })) as object;
  if (rendered.ok) {
    const images = await staticPlotImages(rendered.svg, options);
    return { data: { [PLOTLY_MIME]: json, ...images.data, 'text/plain': textOfSvgPlot(figure) }, metadata: images.metadata };
  }
  return {
    data: { [PLOTLY_MIME]: json, 'text/plain': `${rendered.text}\n(no static image: ${rendered.reason})` },
    metadata: {},
  };
}

function textOfSvgPlot(figure: PlotlyFigure): string {
  const layout = (figure.layout ?? {}) as { title?: unknown };
  const t = layout.title;
  const title = typeof t === 'string' ? t : t && typeof t === 'object' ? String((t as { text?: unknown }).text ?? '') : '';
  const names = figure.data.map((d, i) => (typeof d.name === 'string' && d.name ? d.name : `trace ${i + 1}`));
  return `plot${title ? ` "${title}"` : ''}: ${[...new Set(names)].join(', ')}`;
}

/** Shows a plotly figure `{ data, layout }` (see `plotBundle`). */
export async function showPlot(figure: PlotlyFigure, options: ShowPlotOptions = {}): Promise<void> {
  send(await plotBundle(figure, options));
}

// ---------------------------------------------------------------------------------------------
// Tables and text

export type TableRow = Readonly<Record<string, unknown>>;

export interface ShowTableOptions {
  /** Column order (default: keys in order of first appearance). */
  readonly columns?: readonly string[];
  /** Significant digits of non-integer numbers (default 4). */
  readonly digits?: number;
  readonly caption?: string;
}

/** How a table cell prints: integers as they are, other numbers to `digits` significant digits. */
export function formatCell(value: unknown, digits = 4): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
    const a = Math.abs(value);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? value.toExponential(digits - 1) : String(Number(value.toPrecision(digits)));
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** `text/html` (a table) + `text/plain` (aligned columns). */
export function tableBundle(rows: readonly TableRow[], options: ShowTableOptions = {}): DisplayMessage {
  const columns = options.columns ? [...options.columns] : [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => formatCell(r[c], options.digits)));
  const numeric = columns.map((c) => rows.length > 0 && rows.every((r) => r[c] === undefined || typeof r[c] === 'number'));
  const th = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('');
  const tr = cells
    .map((row) => `<tr>${row.map((v, j) => `<td${numeric[j] ? ' style="text-align:right"' : ''}>${escapeHtml(v)}</td>`).join('')}</tr>`)
    .join('\n');
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : '';
  const html = `<table>${caption}\n<thead><tr>${th}</tr></thead>\n<tbody>\n${tr}\n</tbody></table>`;
  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((row) => row[j].length)));
  const line = (vals: string[]) => vals.map((v, j) => (numeric[j] ? v.padStart(widths[j]) : v.padEnd(widths[j]))).join('  ').trimEnd();
  const text = [...(options.caption ? [options.caption] : []), line(columns), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
  return { data: { 'text/html': html, 'text/plain': text }, metadata: {} };
}

/** Shows rows of values as a table (see `tableBundle`). */
export function showTable(rows: readonly TableRow[], options: ShowTableOptions = {}): void {
  send(tableBundle(rows, options));
}

/** `text/markdown` + `text/plain`. */
export function markdownBundle(markdown: string): DisplayMessage {
  return { data: { 'text/markdown': markdown, 'text/plain': markdown }, metadata: {} };
}

/** Shows markdown (e.g. a verdict computed in the cell). */
export function showMarkdown(markdown: string): void {
  send(markdownBundle(markdown));
}
