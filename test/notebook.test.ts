/**
 * The notebook helpers without Jupyter: static plot rendering (plotly under jsdom), the MIME
 * bundles the display helpers build and send, the quick/full scale, and the committed
 * notebooks' shape (tslab kernel, no outputs).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DisplayMessage,
  PLOTLY_MIME,
  findKernelWriter,
  formatCell,
  imageBundle,
  markdownBundle,
  plotBundle,
  portableMime,
  setDisplaySink,
  showImage,
  showMarkdown,
  showPlot,
  showTable,
  tableBundle,
} from '../src/notebook/display.js';
import { type PlotlyFigure, STATIC_TRACE_TYPES, describeFigure, renderPlotSvg, unsupportedTraceTypes } from '../src/notebook/plot-svg.js';
import { FULL_SCALE, QUICK_SCALE, isQuickMode, notebookModelPath, notebookScale } from '../src/notebook/quick.js';
import type { RgbImage } from '../src/io/image.js';

const lineFigure: PlotlyFigure = {
  data: [
    { type: 'scatter', mode: 'lines', name: 'L2', x: [0, 1, 2, 3], y: [0.1, 0.02, 0.004, 0.001] },
    { type: 'scatter', mode: 'lines', name: 'eps', x: [0, 3], y: [0.002, 0.002], line: { dash: 'dash' } },
  ],
  layout: { title: { text: 'convergence' }, yaxis: { type: 'log' }, width: 500, height: 300 },
};

function gradient(width: number, height: number): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set([(i % width) / width, 0.5, 1 - i / (width * height)], i * 3);
  return { width, height, data };
}

describe('plot-svg', () => {
  it('renders a line plot to an SVG document with paths', async () => {
    const r = await renderPlotSvg(lineFigure);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.svg.startsWith('<svg')).toBe(true);
    expect(r.svg).toContain('width="500"');
    expect(r.svg).toMatch(/<path[^>]* d="M[^"]+L/); // a polyline
    expect(r.svg).toContain('convergence');
    expect(r.svg).toContain('>eps<'); // legend text
  });

  it.each(STATIC_TRACE_TYPES)('renders a %s trace', async (type) => {
    const trace =
      type === 'pie'
        ? { type, values: [1, 2, 3], labels: ['a', 'b', 'c'] }
        : type === 'histogram' || type === 'box'
          ? { type, x: [1, 2, 2, 3, 3, 3] }
          : type === 'funnel'
            ? { type, x: [3, 2, 1], y: ['a', 'b', 'c'] }
            : { type, x: [1, 2, 3], y: [3, 1, 2] };
    const r = await renderPlotSvg({ data: [trace] });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.svg).toMatch(/<path/);
  });

  it('renders bars and lines together, sized by the options', async () => {
    const r = await renderPlotSvg(
      { data: [{ type: 'bar', x: ['a', 'b'], y: [1, 2], name: 'GEOCROSS' }, { x: ['a', 'b'], y: [2, 1], name: 'total' }] },
      { width: 320, height: 240 },
    );
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.svg).toContain('width="320"');
      expect(r.svg).toContain('class="trace bars"');
    }
  });

  it('falls back to text, without throwing, for canvas and WebGL traces and for junk', async () => {
    for (const type of ['heatmap', 'image', 'scattergl', 'scatter3d']) {
      const r = await renderPlotSvg({ data: [{ type, z: [[1, 2], [3, 4]], x: [1], y: [1] }], layout: { title: 'T' } });
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.reason).toContain(type);
        expect(r.text).toContain(`plotly figure "T": 1 trace`);
      }
    }
    expect(unsupportedTraceTypes({ data: [{ y: [1] }, { type: 'heatmap' }, { type: 'bar' }] })).toEqual(['heatmap']);
    const junk = await renderPlotSvg({ data: 'nope' } as unknown as PlotlyFigure);
    expect(junk.ok).toBe(false);
    const empty = await renderPlotSvg({ data: [] });
    expect(empty.ok).toBe(true);
  });

  it('describes a figure in text', () => {
    const text = describeFigure(lineFigure);
    expect(text).toContain('plotly figure "convergence": 2 traces');
    expect(text).toContain('scatter "L2": 4 points, y from 0.001 to 0.1, last 0.001');
  });
});

describe('display bundles', () => {
  const sent: DisplayMessage[] = [];
  afterEach(() => {
    sent.length = 0;
    setDisplaySink(null);
  });

  it('showPlot sends ONE output with the plotly JSON and a static SVG', async () => {
    setDisplaySink((m) => sent.push(m));
    await showPlot(lineFigure);
    expect(sent).toHaveLength(1);
    const data = sent[0].data as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual([PLOTLY_MIME, 'image/svg+xml', 'text/plain'].sort());
    expect(data[PLOTLY_MIME]).toEqual({ data: lineFigure.data, layout: lineFigure.layout });
    expect(String(data['image/svg+xml'])).toMatch(/^<svg[\s\S]*<path/);
    expect(data['text/plain']).toBe('plot "convergence": L2, eps');
    expect(JSON.parse(JSON.stringify(sent[0]))).toEqual(sent[0]); // plain JSON, as the kernel sends it
  });

  it('a plot without a static form keeps the plotly JSON and explains in text', async () => {
    const m = await plotBundle({ data: [{ type: 'heatmap', z: [[1]] }] });
    expect(Object.keys(m.data).sort()).toEqual([PLOTLY_MIME, 'text/plain'].sort());
    expect(String(m.data['text/plain'])).toContain('no static image: trace type heatmap');
  });

  it('showImage sends a PNG of a labelled strip, scaled to the display height', async () => {
    setDisplaySink((m) => sent.push(m));
    const lr = gradient(8, 8);
    const hr = gradient(64, 64);
    await showImage([lr, hr], { labels: ['low-res', 'original'], height: 64, gap: 4 });
    expect(sent).toHaveLength(1);
    const { data, metadata } = sent[0];
    expect(Object.keys(data).sort()).toEqual(['image/png', 'text/plain']);
    const png = Buffer.from(String(data['image/png']), 'base64');
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const meta = await sharp(png).metadata();
    expect(meta.width).toBe(64 + 4 + 64);
    expect(meta.height).toBeGreaterThanOrEqual(64); // + the label band when fonts render
    expect(metadata).toEqual({ 'image/png': { width: meta.width, height: meta.height } });
    expect(data['text/plain']).toBe('2 images: low-res (8x8) | original (64x64)');
  });

  it('a single image keeps its pixels exactly (8-bit like writePng) and small ones are enlarged', async () => {
    const big = gradient(128, 128);
    const m = await imageBundle(big);
    const { data, info } = await sharp(Buffer.from(String(m.data['image/png']), 'base64')).raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([128, 128, 3]);
    expect(data[3 * 5]).toBe(Math.floor(Math.fround(big.data[3 * 5] * 255)));
    const small = await imageBundle(gradient(8, 8));
    expect((await sharp(Buffer.from(String(small.data['image/png']), 'base64')).metadata()).width).toBe(128);
    await expect(imageBundle([])).rejects.toThrow(/at least one image/);
    await expect(imageBundle({ width: 2, height: 2, data: new Float32Array(3) })).rejects.toThrow(/2x2x3/);
  });

  it('showTable sends HTML and aligned text; values are escaped and formatted', () => {
    setDisplaySink((m) => sent.push(m));
    showTable(
      [
        { run: 'lr 0.4', minMse: 0.00025, success: true, steps: 100 },
        { run: '<b>lr 0.1</b>', minMse: 0.5, success: false, steps: 100 },
      ],
      { caption: 'runs' },
    );
    expect(sent).toHaveLength(1);
    const html = String(sent[0].data['text/html']);
    expect(html).toContain('<caption>runs</caption>');
    expect(html).toContain('<th>minMse</th>');
    expect(html).toContain('&lt;b&gt;lr 0.1&lt;/b&gt;');
    expect(html).toContain('<td style="text-align:right">2.500e-4</td>');
    expect(sent[0].data['text/plain']).toBe(
      [
        'runs',
        'run              minMse  success  steps',
        '-------------  --------  -------  -----',
        'lr 0.4         2.500e-4  yes        100',
        '<b>lr 0.1</b>       0.5  no         100',
      ].join('\n'),
    );
    expect(tableBundle([], { columns: ['a'] }).data['text/plain']).toBe('a\n-');
  });

  it('formats cells', () => {
    expect(formatCell(3)).toBe('3');
    expect(formatCell(0.123456)).toBe('0.1235');
    expect(formatCell(2e-7)).toBe('2.000e-7');
    expect(formatCell(null)).toBe('');
    expect(formatCell([1, 2])).toBe('[1,2]');
  });

  it('showMarkdown sends markdown with a text twin', () => {
    setDisplaySink((m) => sent.push(m));
    showMarkdown('**met** eps');
    expect(sent[0]).toEqual(markdownBundle('**met** eps'));
    expect(sent[0].data).toEqual({ 'text/markdown': '**met** eps', 'text/plain': '**met** eps' });
  });

  it("finds tslab's display_data writer in a module cache, and only a set one", () => {
    const calls: unknown[] = [];
    const write = (content: unknown, update: boolean) => calls.push([content, update]);
    expect(findKernelWriter({})).toBeNull();
    expect(findKernelWriter({ '/x/node_modules/tslab/dist/jupyter.js': { exports: { lastWriteDisplayData: null } } })).toBeNull();
    expect(findKernelWriter({ '/x/node_modules/other/dist/jupyter.js': { exports: { lastWriteDisplayData: write } } })).toBeNull();
    expect(findKernelWriter({ '/x/node_modules/tslab/dist/jupyter.js': { exports: { lastWriteDisplayData: write } } })).toBe(write);
  });

  it('picks the most portable single type for the public-API fallback', () => {
    expect(portableMime({ [PLOTLY_MIME]: {}, 'image/svg+xml': '<svg/>', 'text/plain': 'p' })).toBe('image/svg+xml');
    expect(portableMime({ 'text/html': '<table/>', 'text/plain': 't' })).toBe('text/html');
    expect(portableMime({ [PLOTLY_MIME]: {} })).toBe(PLOTLY_MIME);
  });
});

describe('notebook scale', () => {
  it('reads PULSE_NOTEBOOK_QUICK', () => {
    expect(notebookScale({ PULSE_NOTEBOOK_QUICK: '1' })).toEqual(QUICK_SCALE);
    expect(notebookScale({ PULSE_NOTEBOOK_QUICK: ' True ' })).toEqual(QUICK_SCALE);
    expect(notebookScale({})).toEqual(FULL_SCALE);
    expect(notebookScale({ PULSE_NOTEBOOK_QUICK: '0' })).toEqual(FULL_SCALE);
    expect(isQuickMode({ PULSE_NOTEBOOK_QUICK: '' })).toBe(false);
    expect(() => notebookScale({ PULSE_NOTEBOOK_QUICK: 'fast' })).toThrow(/PULSE_NOTEBOOK_QUICK="fast".*use 1/);
    expect(QUICK_SCALE.steps).toBeLessThan(FULL_SCALE.steps);
    expect(FULL_SCALE.steps).toBe(100);
  });

  it('takes the model from PULSE_NOTEBOOK_MODEL', () => {
    expect(notebookModelPath({ PULSE_NOTEBOOK_MODEL: '/tmp/some-model' })).toBe('/tmp/some-model');
  });
});

describe('committed notebooks', () => {
  const dir = join(import.meta.dirname, '..', 'notebooks');
  const notebooks = readdirSync(dir).filter((f) => f.endsWith('.ipynb'));

  it('exist', () => {
    expect(notebooks).toEqual(expect.arrayContaining(['01-quickstart.ipynb', '02-convergence.ipynb']));
  });

  it.each(notebooks)('%s uses the tslab kernel and is committed with the outputs of one full, clean run', (name) => {
    const nb = JSON.parse(readFileSync(join(dir, name), 'utf8')) as {
      nbformat: number;
      metadata: { kernelspec?: { name?: string } };
      cells: { cell_type: string; outputs?: { output_type: string; text?: string[]; data?: Record<string, unknown> }[]; execution_count?: number | null }[];
    };
    expect(nb.nbformat).toBe(4);
    expect(nb.metadata.kernelspec?.name).toBe('tslab');
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    expect(code.length).toBeGreaterThan(0);
    // (tslab records no execution counts, so the outputs themselves are checked.)
    const outputs = code.flatMap((c) => c.outputs ?? []);
    expect(outputs.filter((o) => o.output_type === 'display_data').length).toBeGreaterThan(0);
    expect(outputs.filter((o) => o.output_type === 'error')).toEqual([]);
    const text = outputs.map((o) => (o.text ?? []).join('')).join('');
    expect(text).not.toMatch(/UncaughtException|UnhandledPromiseRejection|quick mode/);
    // Stored figures and images carry a static form (PNG or SVG) beside any plotly JSON.
    for (const o of outputs.filter((x) => x.output_type === 'display_data')) {
      const mimes = Object.keys(o.data ?? {});
      if (mimes.includes('application/vnd.plotly.v1+json')) expect(mimes.some((m) => m === 'image/svg+xml' || m === 'image/png' || m === 'text/plain')).toBe(true);
    }
  });
});
