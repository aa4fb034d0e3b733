/**
 * `pulse sample --model M --n N --seed S --out DIR [--truncation PSI]`: N faces the model draws,
 * as sample_0000.png ... and grid.png, plus samples.json (model, seeds, psi, backend).
 * Sample k is face seed S + k of src/model/sample.ts (the same face the demo and the evaluation
 * draw for that seed), so the same command gives the same bits on the same backend.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../backend/select.js';
import { imageFromNhwc, writePng } from '../io/image.js';
import { loadModel } from '../model/model.js';
import { defaultModelPath } from '../model/default-model.js';
import { estimateWAvg, sampleFaces, W_AVG_SAMPLES, W_AVG_SEED } from '../model/sample.js';
import { imageGrid } from '../train/samples.js';
import { writeJsonAtomic } from '../util/files.js';
import { parseInteger, parseNumber } from './flags.js';
import { backendRequest } from './backend-flag.js';

export interface SampleFlags {
  /** Backend request (default: $PULSE_BACKEND or auto); the CLI passes --backend. */
  backend?: string;
  model?: string;
  n: string;
  seed: string;
  out: string;
  truncation?: string;
  force?: boolean;
}

/** sample_0000.png for sample 0. */
export function sampleName(k: number): string {
  return `sample_${String(k).padStart(4, '0')}.png`;
}

const BATCH = 16;

export async function sample(flags: SampleFlags): Promise<string[]> {
  const n = parseInteger('n', flags.n, { min: 1 });
  const seed = parseInteger('seed', flags.seed, { min: 0 });
  const psi = flags.truncation === undefined ? 1 : parseNumber('truncation', flags.truncation);
  const outDir = resolve(flags.out);
  const names = [...Array.from({ length: n }, (_, k) => sampleName(k)), 'grid.png', 'samples.json'];
  if (!flags.force) {
    const existing = names.map((f) => join(outDir, f)).find((p) => existsSync(p));
    if (existing) throw new Error(`${existing} already exists; pass --force to overwrite, or choose another --out`);
  }
  const backend = await initBackend(flags.backend);
  process.stderr.write(`backend: ${backend.description}\n`);
  const model = await loadModel(flags.model ?? defaultModelPath());
  try {
    const r = model.synthesis.config.resolution;
    const wAvg = psi !== 1 ? await estimateWAvg(model) : undefined;
    mkdirSync(outDir, { recursive: true });
    const all = new Float32Array(n * r * r * 3);
    for (let start = 0; start < n; start += BATCH) {
      const seeds = Array.from({ length: Math.min(BATCH, n - start) }, (_, k) => seed + start + k);
      all.set(await sampleFaces(model, seeds, { truncation: psi, wAvg }), start * r * r * 3);
    }
    for (let k = 0; k < n; k++) await writePng(join(outDir, sampleName(k)), imageFromNhwc(all, k, { width: r, height: r }), { force: flags.force });
    const columns = Math.ceil(Math.sqrt(n));
    await writePng(join(outDir, 'grid.png'), imageGrid(all.map((v) => v * 2 - 1), n, r, columns), { force: flags.force });
    writeJsonAtomic(
      join(outDir, 'samples.json'),
      {
        model: flags.model ?? 'built-in (models/default)',
        resolution: r,
        n,
        seeds: `${seed}..${seed + n - 1}`,
        truncation: psi,
        ...(psi !== 1 ? { wAvg: { samples: W_AVG_SAMPLES, seed: W_AVG_SEED } } : {}),
        backend: backend.name,
        files: names.slice(0, n),
      },
      flags.force,
    );
    process.stderr.write(`${n} samples (seeds ${seed}..${seed + n - 1}, truncation ${psi}) and grid.png in ${outDir}\n`);
    return names;
  } finally {
    model.dispose();
  }
}

export function registerSample(program: Command): void {
  program
    .command('sample')
    .description('draw random faces from a model: sample_0000.png ..., grid.png')
    .option('--model <path>', 'model directory (default: the built-in model)')
    .option('--n <count>', 'number of samples', '16')
    .option('--seed <n>', 'sample k is face seed S + k', '0')
    .requiredOption('--out <dir>', 'output folder')
    .option('--truncation <psi>', `w = w_avg + psi (w - w_avg); w_avg = mean of ${W_AVG_SAMPLES} mapped latents (default 1: none)`)
    .option('--force', 'overwrite existing outputs')
    .action(async (flags: SampleFlags, cmd: Command) => {
      await sample({ ...flags, backend: backendRequest(cmd) });
    });
}
