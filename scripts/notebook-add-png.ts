/**
 * Brings the plot outputs stored in notebooks up to what `showPlot` sends now, without running
 * them again: every plot output (plotly JSON + SVG) without a PNG gets the PNG of its stored
 * SVG, drawn by the display code's own function (src/notebook/stored-outputs.ts,
 * `addPlotPngs`). Cells and all other outputs stay as they are; a notebook with nothing to add
 * is not written. Notebooks run since then carry the PNG already. `--redraw` draws every plot's
 * PNG again (after a change in how it is drawn).
 *
 *   npx tsx scripts/notebook-add-png.ts                  # notebooks/*.ipynb
 *   npx tsx scripts/notebook-add-png.ts --dry-run notebooks/02-convergence.ipynb
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { addPlotPngs, notebookText, readNotebook, writeNotebook } from '../src/notebook/stored-outputs.js';

const { values, positionals } = parseArgs({
  options: { 'dry-run': { type: 'boolean', default: false }, redraw: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const root = join(import.meta.dirname, '..');
const files = positionals.length > 0 ? positionals : readdirSync(join(root, 'notebooks')).filter((f) => f.endsWith('.ipynb')).sort().map((f) => join(root, 'notebooks', f));

let failed = 0;
for (const file of files) {
  try {
    const nb = readNotebook(file);
    const before = statSync(file).size;
    const added = await addPlotPngs(nb, { redraw: values.redraw });
    const after = Buffer.byteLength(notebookText(nb));
    if (added > 0 && !values['dry-run']) writeNotebook(file, nb);
    const kb = (n: number) => `${Math.round(n / 1024)} KB`;
    console.log(`${file}: ${added} plot(s) given a${values.redraw ? ' new' : ''} PNG${values['dry-run'] ? ' (dry run, not written)' : ''}; ${kb(before)} -> ${kb(after)}`);
  } catch (err) {
    failed++;
    console.error(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
