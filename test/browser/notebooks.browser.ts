/**
 * The committed notebooks as a person opens them, in a real browser (Debian's chromium driven
 * by playwright-core, headless), against a Jupyter server this test starts and stops itself
 * (test/browser/jupyter.ts: no token, fresh Jupyter folders, so every notebook is untrusted):
 *
 * - each committed notebook, opened in Jupyter Notebook and (where scripts/setup-notebooks.sh
 *   --lab installed it) in JupyterLab: every figure stored in the file shows as a picture (an
 *   image that loaded, an SVG or a plotly plot) no larger than its display size, and no output
 *   shows an error or stderr; in JupyterLab, every plot turns into an interactive plotly plot
 *   under the mouse;
 * - notebook 01 run from the browser (Cell > Run All, tslab kernel, quick mode): it finishes
 *   and shows its figures, with no error or stderr.
 *
 * It prints a table per notebook: figures in the file, figures seen, plots interactive, stderr
 * and error outputs, file size. Skipped without chromium or Jupyter Notebook. Run: `npm run test:browser`.
 * PULSE_BROWSER_NOTEBOOKS=DIR opens the notebooks in DIR instead of notebooks/ (e.g. older
 * versions, to see the test fail); PULSE_BROWSER_SCREENSHOT=FILE saves a picture of 02 in
 * Jupyter Notebook, untrusted, at its first plot.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLOTLY_MIME } from '../../src/notebook/display.js';
import { type StoredNotebook, figureOutputs, readNotebook, storedOutputs } from '../../src/notebook/stored-outputs.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { type Frontend, type JupyterServer, jupyterLabCommand, notebookPython, startJupyter } from './jupyter.js';

const notebookFolder = process.env.PULSE_BROWSER_NOTEBOOKS ?? join(REPO_ROOT, 'notebooks');
const notebookFiles = readdirSync(notebookFolder)
  .filter((f) => f.endsWith('.ipynb'))
  .sort()
  .map((f) => join(notebookFolder, f));

function chromiumPath(): string | null {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

const chromiumBin = chromiumPath();
const haveNotebook = notebookPython() !== null;
const frontends: Frontend[] = jupyterLabCommand(REPO_ROOT) ? ['notebook', 'lab'] : ['notebook'];
const ready = chromiumBin !== null && haveNotebook;
if (!ready) {
  console.warn(`browser test skipped: ${chromiumBin ? '' : 'no chromium (apt-get install chromium); '}${haveNotebook ? '' : 'no Jupyter Notebook (bash scripts/setup-notebooks.sh --ui)'}`);
}

/** What a page shows in its output areas. */
interface Seen {
  outputs: number;
  /** Outputs showing a picture: an image that loaded (naturalWidth > 0), an SVG or a plotly plot. */
  pictures: number;
  /** Per picture, the width an image is shown at in CSS pixels (-1: an SVG or plotly plot). */
  widths: number[];
  /** Plots drawn by plotly in the page (interactive). */
  interactive: number;
  stderr: number;
  errors: number;
  /** Text of the first stderr or error output, for the failure message. */
  firstProblem: string;
}

// Runs in the page (installed as window.countOutputs; a string, so that no test-runner
// transform reaches the browser): counts what Jupyter Notebook 6 (classic) or JupyterLab 4
// rendered in the output areas.
const COUNT_OUTPUTS = `window.countOutputs = function (frontend) {
  var classic = frontend === 'notebook';
  var areas = Array.from(document.querySelectorAll(classic ? '#notebook-container .output_area' : '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output'));
  var seen = { outputs: areas.length, pictures: 0, widths: [], interactive: 0, stderr: 0, errors: 0, firstProblem: '' };
  areas.forEach(function (a) {
    var loaded = Array.from(a.querySelectorAll('img')).filter(function (img) { return img.complete && img.naturalWidth > 0; });
    if (loaded.length > 0 || a.querySelector('svg.main-svg, .output_svg svg, [data-mime-type="image/svg+xml"] svg, .js-plotly-plot')) {
      seen.pictures++;
      seen.widths.push(loaded.length > 0 ? Math.round(loaded[0].getBoundingClientRect().width) : -1);
    }
    if (a.matches('.js-plotly-plot') || a.querySelector('.js-plotly-plot')) seen.interactive++;
    var mime = a.getAttribute('data-mime-type') || '';
    var isStderr = classic ? a.querySelector('.output_stderr') !== null : mime === 'application/vnd.jupyter.stderr';
    var isError = classic ? a.querySelector('.output_error') !== null : mime === 'application/vnd.jupyter.error';
    if (isStderr) seen.stderr++;
    if (isError) seen.errors++;
    if ((isStderr || isError) && !seen.firstProblem) seen.firstProblem = (a.textContent || '').trim().slice(0, 500);
  });
  return seen;
};`;

function countOutputs(page: Page, frontend: Frontend): Promise<Seen> {
  return page.evaluate(`window.countOutputs(${JSON.stringify(frontend)})`) as Promise<Seen>;
}

function pageUrl(server: JupyterServer, name: string): string {
  // ?reset: a new layout, so JupyterLab reopens no notebook from an earlier page.
  return server.frontend === 'notebook' ? `${server.url}/notebooks/${name}` : `${server.url}/lab/tree/${name}?reset`;
}

/** Opens a notebook and waits until its cells are there and `expectedPictures` show (or 60 s pass). */
async function openNotebook(page: Page, server: JupyterServer, name: string, cells: number, expectedPictures: number): Promise<Seen> {
  await page.goto(pageUrl(server, name), { waitUntil: 'load', timeout: 120_000 });
  const cellSelector = server.frontend === 'notebook' ? '#notebook-container .cell' : '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell';
  await page.waitForFunction(`document.querySelectorAll(${JSON.stringify(cellSelector)}).length >= ${cells}`, undefined, { timeout: 120_000 });
  await page
    .waitForFunction(
      `Array.from(document.images).every(function (i) { return i.complete; }) && window.countOutputs(${JSON.stringify(server.frontend)}).pictures >= ${expectedPictures}`,
      undefined,
      { timeout: 60_000 },
    )
    .catch(() => undefined); // measured below either way; the assertions say what is missing
  return countOutputs(page, server.frontend);
}

interface Row {
  notebook: string;
  frontend: Frontend;
  inFile: number;
  seen: number;
  interactive: number;
  stderr: number;
  errors: number;
  kb: number;
}
const rows: Row[] = [];

describe.skipIf(!ready)('notebooks in a real browser, untrusted', () => {
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    profile = mkdtempSync(join(tmpdir(), 'pulse-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: chromiumBin!,
      headless: true,
      viewport: { width: 1100, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    await context.addInitScript(COUNT_OUTPUTS);
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    if (rows.length > 0) {
      const lines = rows.map((r) => `| ${r.notebook} | ${r.frontend} | ${r.inFile} | ${r.seen} | ${r.interactive} | ${r.stderr} | ${r.errors} | ${r.kb} KB |`);
      const head = '| notebook | front end | figures in file | figures seen | plots interactive | stderr | errors | size |';
      console.log([head, '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |', ...lines].join('\n'));
    }
  });

  describe.each(frontends)('%s', (frontend) => {
    let server: JupyterServer;
    beforeAll(async () => {
      server = await startJupyter({ frontend, repo: REPO_ROOT, notebooks: notebookFiles, env: { PULSE_NOTEBOOK_QUICK: '1', PULSE_NOTEBOOK_FACES: 'generated' } });
    }, 180_000);
    afterAll(async () => {
      await server?.stop();
    }, 60_000);

    it.each(notebookFiles.map((f) => [f.split('/').pop()!, f]))(
      '%s shows every figure, and no error or stderr',
      async (name, file) => {
        const nb = readNotebook(file);
        const inFile = figureOutputs(nb).length;
        const page = await context.newPage();
        try {
          const seen = await openNotebook(page, server, name, nb.cells.length, inFile);
          const plots = storedOutputs(nb).filter((o) => o.data && PLOTLY_MIME in o.data).length;
          if (frontend === 'lab') {
            // plotly's JupyterLab renderer shows a bundle's PNG and draws the interactive plot
            // when the mouse comes over it.
            seen.interactive = await hoverPlots(page, plots);
          }
          rows.push({ notebook: name, frontend, inFile, seen: seen.pictures, interactive: seen.interactive, stderr: seen.stderr, errors: seen.errors, kb: Math.round(statSync(file).size / 1024) });
          if (frontend === 'notebook') {
            // The premise: a fresh Jupyter trusts nothing.
            expect(await page.locator('#notification_trusted').textContent()).toMatch(/Not Trusted/);
            const shot = process.env.PULSE_BROWSER_SCREENSHOT;
            if (shot && name.startsWith('02')) await screenshotFirstPlot(page, nb, shot);
          }
          expect({ pictures: seen.pictures, stderr: seen.stderr, errors: seen.errors, firstProblem: seen.firstProblem }).toEqual({
            pictures: inFile,
            stderr: 0,
            errors: 0,
            firstProblem: '',
          });
          // Each image at most at its display size (the output's metadata): a 2x PNG shown at
          // its pixel size would be twice too large and cut off.
          const sizes = figureOutputs(nb).map((o) => (o.metadata?.['image/png'] as { width?: number } | undefined)?.width ?? -1);
          const tooLarge = seen.widths.flatMap((w, i) => (w > 0 && sizes[i] > 0 && w > sizes[i] + 1 ? [`figure ${i + 1}: ${w} px for ${sizes[i]}`] : []));
          expect(tooLarge).toEqual([]);
          if (frontend === 'lab') expect(seen.interactive).toBe(plots);
        } finally {
          await page.close();
        }
      },
      240_000,
    );

    it.runIf(frontend === 'notebook')(
      '01 runs from the browser (Run All, quick mode) and shows its figures',
      async () => {
        const name = notebookFiles.map((f) => f.split('/').pop()!).find((f) => f.startsWith('01-'))!;
        const nb = readNotebook(join(notebookFolder, name));
        const page = await context.newPage();
        try {
          await page.goto(pageUrl(server, name), { waitUntil: 'load', timeout: 120_000 });
          await page.waitForSelector('#kernel_indicator_icon.kernel_idle_icon', { timeout: 120_000 });
          // Clear the stored outputs first, so that only what this run shows is counted.
          await page.evaluate('Jupyter.notebook.clear_all_output()');
          expect((await countOutputs(page, frontend)).outputs).toBe(0);
          await page.click('#celllink'); // the Cell menu
          await page.click('#run_all_cells > a');
          // Run All queues every code cell (class "running") and each loses it when done; tslab
          // sends no execution counts, so the prompts say nothing.
          await page.waitForSelector('#notebook-container .code_cell.running', { timeout: 30_000 });
          await page.waitForFunction(
            `document.querySelectorAll('#notebook-container .code_cell.running').length === 0 && document.querySelector('#kernel_indicator_icon.kernel_idle_icon') !== null`,
            undefined,
            { timeout: 420_000, polling: 1000 },
          );
          await page.waitForFunction('Array.from(document.images).every(function (i) { return i.complete; })', undefined, { timeout: 30_000 });
          const seen = await countOutputs(page, frontend);
          expect({ pictures: seen.pictures, stderr: seen.stderr, errors: seen.errors, firstProblem: seen.firstProblem }).toEqual({
            pictures: figureOutputs(nb).length,
            stderr: 0,
            errors: 0,
            firstProblem: '',
          });
        } finally {
          await page.close();
        }
      },
      480_000,
    );
  });
});

/** Moves the mouse over each plotly output in JupyterLab; returns how many then draw a plotly plot. */
async function hoverPlots(page: Page, expected: number): Promise<number> {
  const plots = page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedPlotly');
  const n = await plots.count();
  for (let i = 0; i < n; i++) {
    await plots.nth(i).scrollIntoViewIfNeeded();
    await plots.nth(i).hover();
  }
  const drawn = `document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedPlotly .plot-container .main-svg').length`;
  await page.waitForFunction(`${drawn} >= ${expected}`, undefined, { timeout: 60_000 }).catch(() => undefined);
  return page.evaluate(`(function () { var n = 0; document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-RenderedPlotly').forEach(function (p) { if (p.querySelector('.plot-container .main-svg')) n++; }); return n; })()`) as Promise<number>;
}

/** A viewport picture of notebook `nb`'s page at its first plot output, as a small palette PNG. */
async function screenshotFirstPlot(page: Page, nb: StoredNotebook, file: string): Promise<void> {
  const index = nb.cells.findIndex((c) => (c.outputs ?? []).some((o) => o.data && PLOTLY_MIME in o.data));
  // The plot at the top of the view, under the header that says "Not Trusted".
  await page.evaluate(`document.querySelectorAll('#notebook-container .cell')[${Math.max(0, index)}].querySelector('.output_area').scrollIntoView()`);
  await page.evaluate(`document.querySelector('#site').scrollBy(0, -40)`);
  const png = await page.screenshot({ type: 'png' });
  await sharp(png).resize({ width: 900 }).png({ palette: true, compressionLevel: 9, effort: 10 }).toFile(file);
}
