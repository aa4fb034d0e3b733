/**
 * Static SVG of a plotly figure, rendered in Node: plotly.js-dist-min runs inside a jsdom 26
 * window (jsdom 27+ needs Node 22), so notebooks saved by headless runs, nbconvert's HTML and
 * GitHub show the plot without a browser.
 *
 * What renders: the SVG trace types in `STATIC_TRACE_TYPES` (lines and markers, bars,
 * histograms, box plots, pies, waterfall, funnel), with titles, legends, log axes, subplots
 * and shapes. What does not: traces drawn on a canvas (heatmap, image, ...) or with WebGL
 * (scattergl, 3-D, maps) need a real browser; plotly run under jsdom throws for them, in one
 * case asynchronously where nothing could catch it. So they are never handed to plotly: the
 * result is `{ ok: false }` with a reason and a text summary of the figure. No input makes
 * `renderPlotSvg` throw.
 *
 * jsdom lacks a few things plotly touches, stubbed here: TextEncoder/TextDecoder and
 * URL.createObjectURL (missing from the window), a 2-D canvas (getContext returns null, as a
 * browser without canvas support does) and text measurement (getBoundingClientRect is all
 * zeros in jsdom; plotly sizes legends and margins from it, so text is estimated at 0.6 em
 * per character). Text widths are therefore approximate; the layout is plotly's own.
 *
 * plotly is loaded once per process (about 0.6 s) into its own window: nothing is added to
 * Node's globals. Renders are serialised.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { JSDOM, VirtualConsole } from 'jsdom';

/** A plotly trace: plotly's own JSON (`type` defaults to 'scatter'). */
export type PlotlyTrace = { readonly type?: string; readonly name?: string } & Readonly<Record<string, unknown>>;

/** A plotly figure as plotly's JSON schema has it (what `application/vnd.plotly.v1+json` carries). */
export interface PlotlyFigure {
  readonly data: readonly PlotlyTrace[];
  readonly layout?: Readonly<Record<string, unknown>>;
}

export interface PlotSvgOptions {
  /** Pixels; default layout.width, else 700. */
  readonly width?: number;
  /** Pixels; default layout.height, else 450. */
  readonly height?: number;
  /** Give up after this many milliseconds (default 20000). */
  readonly timeoutMs?: number;
}

export type PlotSvgResult =
  | { readonly ok: true; readonly svg: string }
  | {
      readonly ok: false;
      /** Why no SVG was made. */
      readonly reason: string;
      /** A plain-text description of the figure, to show instead. */
      readonly text: string;
    };

/** Trace types that render to SVG under jsdom (checked by test/notebook.test.ts). */
export const STATIC_TRACE_TYPES: readonly string[] = ['scatter', 'bar', 'histogram', 'box', 'pie', 'waterfall', 'funnel'];

const DEFAULT_WIDTH = 700;
const DEFAULT_HEIGHT = 450;

interface PlotlyApi {
  newPlot(div: unknown, data: unknown, layout: unknown, config: unknown): Promise<unknown>;
  toImage(div: unknown, opts: { format: 'svg'; width: number; height: number }): Promise<string>;
  purge(div: unknown): void;
}

interface PlotlyWindow {
  readonly window: JSDOM['window'];
  readonly plotly: PlotlyApi;
  /** Messages jsdom reported (not-implemented features and the like) since the last clear. */
  readonly errors: string[];
}

let loaded: PlotlyWindow | undefined;
let queue: Promise<unknown> = Promise.resolve();

/** The trace types of a figure that cannot be drawn statically (empty when all can). */
export function unsupportedTraceTypes(figure: PlotlyFigure): string[] {
  const bad = new Set<string>();
  for (const trace of figure.data) {
    const type = typeof trace?.type === 'string' ? trace.type : 'scatter';
    if (!STATIC_TRACE_TYPES.includes(type)) bad.add(type);
  }
  return [...bad];
}

/** A few lines describing a figure: its title and each trace's type, name and size. */
export function describeFigure(figure: PlotlyFigure): string {
  const layout = (figure?.layout ?? {}) as Record<string, unknown>;
  const title = titleText(layout.title);
  const data = Array.isArray(figure?.data) ? figure.data : [];
  const lines = [`plotly figure${title ? ` "${title}"` : ''}: ${data.length} trace${data.length === 1 ? '' : 's'}`];
  data.forEach((trace, i) => {
    const t = (trace ?? {}) as Record<string, unknown>;
    const type = typeof t.type === 'string' ? t.type : 'scatter';
    const name = typeof t.name === 'string' && t.name !== '' ? ` "${t.name}"` : '';
    const n = ['y', 'x', 'values', 'z', 'r'].map((k) => t[k]).find((v) => Array.isArray(v) || ArrayBuffer.isView(v)) as ArrayLike<unknown> | undefined;
    let range = '';
    const ys = Array.isArray(t.y) ? (t.y as unknown[]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)) : [];
    if (ys.length > 0) range = `, y from ${fmt(Math.min(...ys))} to ${fmt(Math.max(...ys))}, last ${fmt(ys[ys.length - 1])}`;
    lines.push(`  ${i + 1}. ${type}${name}${n ? `: ${n.length} points` : ''}${range}`);
  });
  return lines.join('\n');
}

function titleText(title: unknown): string {
  if (typeof title === 'string') return title;
  if (title && typeof title === 'object' && typeof (title as { text?: unknown }).text === 'string') return (title as { text: string }).text;
  return '';
}

function fmt(x: number): string {
  return x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5) ? x.toExponential(3) : String(Number(x.toPrecision(4)));
}

/**
 * Renders `figure` to an SVG document string, or explains why it cannot (see the file
 * comment). Never throws.
 */
export function renderPlotSvg(figure: PlotlyFigure, options: PlotSvgOptions = {}): Promise<PlotSvgResult> {
  const run = queue.then(() => renderNow(figure, options));
  queue = run.catch(() => undefined);
  return run;
}

async function renderNow(figure: PlotlyFigure, options: PlotSvgOptions): Promise<PlotSvgResult> {
  let text: string;
  try {
    text = describeFigure(figure);
  } catch {
    text = 'plotly figure (not describable)';
  }
  const fail = (reason: string): PlotSvgResult => ({ ok: false, reason, text });
  if (!figure || typeof figure !== 'object' || !Array.isArray(figure.data)) {
    return fail('not a plotly figure: expected { data: [...traces], layout?: {...} }');
  }
  const bad = unsupportedTraceTypes(figure);
  if (bad.length > 0) {
    return fail(
      `trace type ${bad.join(', ')} cannot be drawn without a browser (canvas or WebGL); static SVG supports ${STATIC_TRACE_TYPES.join(', ')}. ` +
        'Interactive front ends (JupyterLab, VS Code) still draw it from the plotly JSON.',
    );
  }
  const layout = (figure.layout ?? {}) as Record<string, unknown>;
  const width = positive(options.width) ?? positive(layout.width) ?? DEFAULT_WIDTH;
  const height = positive(options.height) ?? positive(layout.height) ?? DEFAULT_HEIGHT;
  let env: PlotlyWindow;
  try {
    env = loadPlotly();
  } catch (err) {
    return fail(`plotly could not be loaded under jsdom: ${message(err)}`);
  }
  env.errors.length = 0;
  const doc = env.window.document;
  const div = doc.createElement('div');
  doc.body.appendChild(div);
  try {
    // JSON round trip: plotly gets plain data from this window (typed arrays become arrays).
    const data = JSON.parse(JSON.stringify(figure.data)) as unknown;
    const plain = JSON.parse(JSON.stringify({ ...layout, width, height })) as unknown;
    const url = await withTimeout(
      (async () => {
        await env.plotly.newPlot(div, data, plain, { staticPlot: true, displayModeBar: false });
        return env.plotly.toImage(div, { format: 'svg', width, height });
      })(),
      options.timeoutMs ?? 20_000,
    );
    const prefix = 'data:image/svg+xml,';
    if (typeof url !== 'string' || !url.startsWith(prefix)) return fail('plotly returned no SVG');
    const svg = decodeURIComponent(url.slice(prefix.length));
    if (!svg.startsWith('<svg')) return fail('plotly returned something other than an SVG document');
    return { ok: true, svg };
  } catch (err) {
    const extra = env.errors.length > 0 ? ` (jsdom: ${env.errors[0]})` : '';
    return fail(`plotly failed under jsdom: ${message(err)}${extra}`);
  } finally {
    try {
      env.plotly.purge(div);
    } catch {
      // nothing to clean
    }
    div.remove();
  }
}

function positive(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : undefined;
}

function message(err: unknown): string {
  return ((err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '').slice(0, 300);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no SVG after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

/** Font size in px of an element (its own or an ancestor's style), default 12. */
function fontSizeOf(el: Element | null): number {
  for (let e: Element | null = el; e; e = e.parentElement) {
    const style = (e as Element & { style?: { fontSize?: string } }).style;
    const size = parseFloat(style?.fontSize || e.getAttribute('font-size') || '');
    if (size > 0) return size;
  }
  return 12;
}

function loadPlotly(): PlotlyWindow {
  if (loaded) return loaded;
  const errors: string[] = [];
  const virtualConsole = new VirtualConsole();
  virtualConsole.on('jsdomError', (e: Error) => errors.push(e.message));
  const dom = new JSDOM('<!DOCTYPE html><html><head></head><body></body></html>', {
    runScripts: 'outside-only',
    pretendToBeVisual: true,
    virtualConsole,
  });
  const w = dom.window as unknown as Record<string, unknown> & JSDOM['window'];
  w.TextEncoder = TextEncoder;
  w.TextDecoder = TextDecoder;
  const url = w.URL as unknown as { createObjectURL: (b: unknown) => string; revokeObjectURL: (u: string) => void };
  url.createObjectURL = () => 'blob:pulse-notebook';
  url.revokeObjectURL = () => undefined;
  (w.HTMLCanvasElement.prototype as unknown as { getContext: () => null }).getContext = () => null;
  w.Element.prototype.getBoundingClientRect = function (this: Element) {
    const text = this.textContent ?? '';
    const size = fontSizeOf(this);
    const width = text.length * size * 0.6;
    const height = text.length > 0 ? size * 1.2 : 0;
    return { x: 0, y: 0, left: 0, top: 0, width, height, right: width, bottom: height, toJSON: () => ({}) } as DOMRect;
  };
  const require = createRequire(import.meta.url);
  const source = readFileSync(require.resolve('plotly.js-dist-min'), 'utf8');
  w.eval(source);
  const plotly = w.Plotly as PlotlyApi | undefined;
  if (!plotly || typeof plotly.newPlot !== 'function') throw new Error('plotly.js-dist-min did not define window.Plotly');
  loaded = { window: dom.window, plotly, errors };
  return loaded;
}
