/**
 * The notebook helpers without Jupyter: static plot rendering (plotly under jsdom), the MIME
 * bundles the display helpers build and send (plots with a PNG drawn from their SVG), the
 * quick/full scale, and the committed notebooks' shape (tslab kernel, the outputs of a clean
 * full run, a PNG for every plot, one module cache).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
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
import { svgToPng } from '../src/plot/plot-png.js';
import {
  type StoredNotebook,
  addPlotPngs,
  figureOutputs,
  notebookText,
  plotsWithoutPng,
  pythonJsonNumber,
  readNotebook,
} from '../src/notebook/stored-outputs.js';
import { type PlotlyFigure, STATIC_TRACE_TYPES, describeFigure, renderPlotSvg, unsupportedTraceTypes } from '../src/plot/plot-svg.js';
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

describe('plot-png', () => {
  const twoHalves =
    '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">' +
    '<rect x="0" y="0" width="20" height="20" fill="#ff0000"/><rect x="20" y="0" width="20" height="20" fill="#0000ff"/></svg>';

  async function pixels(png: Buffer) {
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    return { info, at, data };
  }

  it('draws an SVG at its size by default, or scaled, and reports the SVG size for display', async () => {
    const r = await svgToPng(twoHalves, { scale: 2 });
    expect([r.width, r.height]).toEqual([40, 20]);
    const { info, at } = await pixels(r.png);
    expect([info.width, info.height]).toEqual([80, 40]);
    expect(at(10, 10)).toEqual([255, 0, 0]);
    expect(at(39, 39)).toEqual([255, 0, 0]);
    expect(at(40, 0)).toEqual([0, 0, 255]);
    expect(at(79, 39)).toEqual([0, 0, 255]);
    const one = await pixels((await svgToPng(twoHalves)).png);
    expect([one.info.width, one.info.height]).toEqual([40, 20]);
    expect(one.at(19, 19)).toEqual([255, 0, 0]);
    expect(one.at(20, 0)).toEqual([0, 0, 255]);
  });

  it('draws text with the fonts the machine has', async () => {
    const blank = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40"><rect width="200" height="40" fill="#fff"/>';
    const text = `${blank}<text x="10" y="28" style="font-family: 'Open Sans', verdana, arial, sans-serif; font-size: 20px; fill: #000">L2 eps</text></svg>`;
    const dark = (d: Buffer) => d.filter((v, i) => i % 3 === 0 && v < 128).length;
    expect(dark((await pixels((await svgToPng(`${blank}</svg>`)).png)).data)).toBe(0);
    // "L2 eps" at 20 px: about a hundred dark pixels.
    expect(dark((await pixels((await svgToPng(text)).png)).data)).toBeGreaterThan(60);
  });

  it('names what is wrong with its input', async () => {
    await expect(svgToPng('<html></html>')).rejects.toThrow(/expected an SVG document.*"<html>/);
    await expect(svgToPng(twoHalves, { scale: 0 })).rejects.toThrow(/scale 0 is out of range/);
  });
});

describe('display bundles', () => {
  const sent: DisplayMessage[] = [];
  afterEach(() => {
    sent.length = 0;
    setDisplaySink(null);
  });

  it('showPlot sends ONE output with the plotly JSON, a static SVG and its PNG', async () => {
    setDisplaySink((m) => sent.push(m));
    await showPlot(lineFigure);
    expect(sent).toHaveLength(1);
    const data = sent[0].data as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual([PLOTLY_MIME, 'image/png', 'image/svg+xml', 'text/plain'].sort());
    expect(data[PLOTLY_MIME]).toEqual({ data: lineFigure.data, layout: lineFigure.layout });
    expect(String(data['image/svg+xml'])).toMatch(/^<svg[\s\S]*<path/);
    expect(data['text/plain']).toBe('plot "convergence": L2, eps');
    // The PNG: the SVG's 500x300 (plotly's JupyterLab renderer shows it at its pixel size).
    const png = Buffer.from(String(data['image/png']), 'base64');
    const meta = await sharp(png).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 500, 300]);
    expect(sent[0].metadata).toEqual({ 'image/png': { width: 500, height: 300 } });
    // It is the plot, not a blank: the traces' colours (plotly's first two, #1f77b4 and
    // #ff7f0e) are drawn.
    const { data: px, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const near = (r: number, g: number, b: number) => {
      let n = 0;
      for (let i = 0; i < px.length; i += info.channels) if (Math.abs(px[i] - r) + Math.abs(px[i + 1] - g) + Math.abs(px[i + 2] - b) <= 12) n++;
      return n;
    };
    expect(near(0x1f, 0x77, 0xb4)).toBeGreaterThan(100);
    expect(near(0xff, 0x7f, 0x0e)).toBeGreaterThan(50);
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

describe('stored outputs', () => {
  it("writes numbers as Python's json.dumps does (values from Python 3.11)", () => {
    const cases: [number, string][] = [
      [8.586896728957072e-5, '8.586896728957072e-05'],
      [0.0001, '0.0001'],
      [1.5e-7, '1.5e-07'],
      [1e-5, '1e-05'],
      [-3.2e-5, '-3.2e-05'],
      [123.25, '123.25'],
      [0.30000000000000004, '0.30000000000000004'],
      [2.5e21, '2.5e+21'],
      [42, '42'],
      [-7, '-7'],
    ];
    for (const [x, python] of cases) expect(pythonJsonNumber(x)).toBe(python);
    expect(() => pythonJsonNumber(Number.NaN)).toThrow(/cannot hold the number NaN/);
  });

  it('lays a notebook out as nbformat does (sorted keys, one-space indent, non-ASCII kept)', () => {
    const nb = { nbformat: 4, metadata: {}, cells: [], z: { b: [1, {}], a: 'é\n"x"\u0001', c: [] } } as unknown as StoredNotebook;
    // json.dumps(..., indent=1, sort_keys=True, ensure_ascii=False) in Python 3.11:
    const python = '{\n "cells": [],\n "metadata": {},\n "nbformat": 4,\n "z": {\n  "a": "é\\n\\"x\\"\\u0001",\n  "b": [\n   1,\n   {}\n  ],\n  "c": []\n }\n}\n';
    expect(notebookText(nb)).toBe(python);
  });

  it.each(readdirSync(join(import.meta.dirname, '..', 'notebooks')).filter((f) => f.endsWith('.ipynb')))(
    '%s is written back byte for byte',
    (name) => {
      const file = join(import.meta.dirname, '..', 'notebooks', name);
      expect(notebookText(readNotebook(file)) === readFileSync(file, 'utf8')).toBe(true);
    },
  );

  it('adds the PNG of its SVG to a stored plot output, once, and leaves other outputs alone', async () => {
    const plot = await plotBundle(lineFigure);
    const { 'image/png': png, ...withoutPng } = plot.data as Record<string, unknown>;
    const image = await imageBundle(gradient(8, 8));
    const svgLines = String(withoutPng['image/svg+xml']).split(/(?<=>)/); // nbformat may store lines
    const nb: StoredNotebook = {
      nbformat: 4,
      metadata: {},
      cells: [
        { cell_type: 'markdown', source: '# t' },
        {
          cell_type: 'code',
          source: 'showPlot(f)',
          outputs: [
            { output_type: 'display_data', data: { ...withoutPng, 'image/svg+xml': svgLines }, metadata: {} },
            { output_type: 'display_data', data: { ...image.data }, metadata: { ...image.metadata } },
            { output_type: 'stream', name: 'stdout', text: ['ok\n'] },
          ],
        },
      ],
    };
    expect(figureOutputs(nb)).toHaveLength(2);
    expect(plotsWithoutPng(nb)).toHaveLength(1);
    expect(await addPlotPngs(nb)).toBe(1);
    const [upgraded, img, stream] = nb.cells[1].outputs!;
    expect(upgraded.data!['image/png']).toBe(png); // what showPlot sends now, exactly
    expect(upgraded.metadata).toEqual(plot.metadata);
    expect(img.data).toEqual(image.data);
    expect(stream).toEqual({ output_type: 'stream', name: 'stdout', text: ['ok\n'] });
    expect(await addPlotPngs(nb)).toBe(0);
    expect(await addPlotPngs(nb, { redraw: true })).toBe(0); // the same drawing: nothing changes
    expect(await addPlotPngs(nb, { redraw: true, scale: 2 })).toBe(1);
    expect(upgraded.metadata).toEqual(plot.metadata); // the display size stays the SVG's
  });

  it('names a file that is not a notebook', () => {
    expect(() => readNotebook(join(import.meta.dirname, '..', 'package.json'))).toThrow(/package\.json: not an nbformat 4 notebook/);
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
    expect(notebookModelPath({ PULSE_NOTEBOOK_MODEL: '/scratch/some-model' })).toBe('/scratch/some-model');
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
    // No stderr in the outputs (tfjs's "Platform node has already been set" was one).
    expect(outputs.filter((o) => o.output_type === 'stream' && (o as { name?: string }).name === 'stderr')).toEqual([]);
    // Every stored plot carries a PNG beside its plotly JSON and SVG: untrusted notebooks (any
    // notebook from a repository) show no SVG.
    for (const o of outputs.filter((x) => x.output_type === 'display_data')) {
      const mimes = Object.keys(o.data ?? {});
      if (mimes.includes(PLOTLY_MIME)) expect(mimes.sort()).toEqual([PLOTLY_MIME, 'image/png', 'image/svg+xml', 'text/plain'].sort());
    }
  });

  it.each(notebooks)('%s stays well under 2 MB', (name) => {
    expect(statSync(join(dir, name)).size).toBeLessThan(1.6e6);
  });

  it.each(notebooks)('%s loads the project through one module cache (one copy of tfjs-core)', (name) => {
    const nb = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { cells: { cell_type: string; source: string | string[] }[] };
    const first = nb.cells.filter((c) => c.cell_type === 'code').map((c) => [c.source].flat().join(''))[0];
    // tsx.require keeps its own module cache (a namespace): a package the project loads there
    // and the cells or tfjs-node load again through Node's cache runs twice.
    expect(first).toContain("require('tsx/cjs/api').register();");
    expect(first).not.toContain('tsx.require');
  });
});
