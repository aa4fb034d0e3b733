/**
 * A random-weight generator with the published FFHQ architecture (or another size), written
 * as the official files (synthesis.pt, mapping.pt, gaussian_fit.pt), for measuring what a run
 * with the real weights costs: a step's time and memory do not depend on the weights' values.
 * Its faces are noise; never use it for results.
 *
 *   npx tsx scripts/random-model.ts --out runs/random-ffhq [--res 1024] [--fmap-base 8192] [--seed 1]
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { saveTorchCheckpoint } from '../src/io/torch-checkpoint-writer.js';
import { DEFAULT_SYNTHESIS_CONFIG } from '../src/stylegan/config.js';
import { randomMappingStateDict, randomSynthesisStateDict } from '../src/stylegan/random-weights.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    res: { type: 'string', default: '1024' },
    'fmap-base': { type: 'string', default: String(DEFAULT_SYNTHESIS_CONFIG.fmapBase) },
    seed: { type: 'string', default: '1' },
  },
});
if (!values.out) throw new Error('--out <dir> is required (where synthesis.pt, mapping.pt and gaussian_fit.pt go)');
const cfg = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: Number(values.res), fmapBase: Number(values['fmap-base']) };
mkdirSync(values.out, { recursive: true });
// Noise strengths 0.1 (the official init has 0) so that the noise path costs what it costs in a trained model.
await saveTorchCheckpoint(join(values.out, 'synthesis.pt'), randomSynthesisStateDict(cfg, values.seed, 0.1), { format: 'legacy' });
await saveTorchCheckpoint(join(values.out, 'mapping.pt'), randomMappingStateDict(values.seed), { format: 'legacy' });
const mean = new Float32Array(cfg.dlatentSize);
const std = new Float32Array(cfg.dlatentSize).fill(1);
await saveTorchCheckpoint(
  join(values.out, 'gaussian_fit.pt'),
  new Map([
    ['mean', { shape: [mean.length], data: mean }],
    ['std', { shape: [std.length], data: std }],
  ]),
  { format: 'legacy' },
);
process.stdout.write(`${values.out}: random ${cfg.resolution} px generator (fmap_base ${cfg.fmapBase}), official file layout\n`);
