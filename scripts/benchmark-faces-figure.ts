/**
 * A figure of a few faces of a finished benchmark (src/benchmark/faces-figure.ts): per face, LR |
 * bicubic | PULSE solutions | HR, as one PNG.
 *
 *   npx tsx scripts/benchmark-faces-figure.ts --bench experiments/results/celebahq-64px/x8 --faces 4 --out faces.png [--height 128]
 */
import { parseArgs } from 'node:util';
import { benchmarkFacesFigure } from '../src/benchmark/faces-figure.js';
import { writePng } from '../src/io/image.js';

const { values } = parseArgs({
  options: { bench: { type: 'string' }, faces: { type: 'string', default: '4' }, height: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean', default: true } },
});
if (!values.bench || !values.out) throw new Error('usage: --bench <pulse benchmark folder> --out <figure.png> [--faces 4] [--height px]');
const fig = await benchmarkFacesFigure({ bench: values.bench, faces: Number(values.faces), height: values.height ? Number(values.height) : undefined });
await writePng(values.out, fig.image, { force: values.force });
process.stdout.write(`${values.out}: ${fig.faces.join(', ')} (${fig.columns.join(' | ')})\n`);
