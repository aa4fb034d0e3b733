/**
 * `pulse fit-gaussian --model M --out gaussian_fit.pt`: the Gaussian fit of the mapping
 * network, streamed in batches, written as a PyTorch file the official code also reads.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../backend/select.js';
import { readModelFiles } from '../model/model.js';
import { Mapping } from '../stylegan/mapping.js';
import { DEFAULT_MAPPING_CONFIG } from '../stylegan/config.js';
import { DEFAULT_FIT_OPTIONS, fitGaussian } from '../pulse/gaussian-fit.js';
import { loadTorchCheckpoint } from '../io/torch-checkpoint.js';
import { saveTorchCheckpoint } from '../io/torch-checkpoint-writer.js';
import { createProgress } from '../util/progress.js';
import { existsSync } from 'node:fs';
import { integerFlag } from './flags.js';
import { backendRequest } from './backend-flag.js';

export interface FitFlags {
  model: string;
  out: string;
  samples: number;
  batchSize: number;
  seed: number;
  force?: boolean;
}

export function registerFitGaussian(program: Command): void {
  program
    .command('fit-gaussian')
    .description("fit the Gaussian of LeakyReLU(5)(mapping(z)) that PULSE's latent search uses")
    .requiredOption('--model <path>', 'mapping.pt, a folder with mapping.pt, or a model directory with a mapping network')
    .requiredOption('--out <file>', 'output .pt ({mean, std}, legacy torch format like the published gaussian_fit.pt)')
    .option('--samples <n>', 'number of z samples', integerFlag('samples', { min: 2 }), DEFAULT_FIT_OPTIONS.samples)
    .option('--batch-size <n>', 'samples per batch', integerFlag('batch-size', { min: 1 }), DEFAULT_FIT_OPTIONS.batchSize)
    .option('--seed <n>', 'seed of the z draws', integerFlag('seed', { min: 0 }), DEFAULT_FIT_OPTIONS.seed)
    .option('--force', 'overwrite --out')
    .action(async (flags: FitFlags, cmd: Command) => {
      const out = resolve(flags.out);
      if (existsSync(out) && !flags.force) throw new Error(`${out} already exists; pass --force to overwrite`);
      const backend = await initBackend(backendRequest(cmd));
      process.stderr.write(`backend: ${backend.description}\n`);
      const path = resolve(flags.model);
      const files = path.endsWith('.pt') ? null : await readModelFiles(path);
      const mappingSd = files ? files.mapping : await loadTorchCheckpoint(path);
      if (!mappingSd) throw new Error(`${path} has no mapping network (mapping.pt or mapping.* tensors)`);
      const mapping = Mapping.fromStateDict(mappingSd, files?.mappingSource ?? path, files?.mappingConfig ?? DEFAULT_MAPPING_CONFIG);
      const { samples } = flags;
      const bar = createProgress('fit-gaussian', samples, '{bar} {value}/{total} samples | left {eta_formatted}');
      const fit = await fitGaussian(mapping, {
        samples,
        batchSize: flags.batchSize,
        seed: flags.seed,
        onProgress: (done) => bar.update(done),
      });
      bar.stop();
      mapping.dispose();
      await saveTorchCheckpoint(
        out,
        new Map([
          ['mean', { shape: [fit.mean.length], data: fit.mean }],
          ['std', { shape: [fit.std.length], data: fit.std }],
        ]),
        { format: 'legacy' },
      );
      process.stdout.write(`wrote ${out}\n`);
    });
}
