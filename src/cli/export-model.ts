/** `pulse export-model --run DIR --out DIR`: a training run's EMA generator and its Gaussian fit as a model directory. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../backend/select.js';
import { loadCheckpoint, readBranchRecord } from '../train/checkpoint.js';
import { exportModel } from '../train/export.js';
import { createProgress } from '../util/progress.js';
import { backendRequest } from './backend-flag.js';
import { portablePath } from '../util/repo-root.js';
import { integerFlag } from './flags.js';

interface ExportModelFlags {
  run: string;
  out: string;
  fitSamples: number;
  force?: boolean;
}

/** A branched run's lineage (branch.json), for the model card: training changed settings part way. */
function branchMetadata(runDir: string): { branchedFrom?: Record<string, unknown> } {
  const record = readBranchRecord(runDir);
  return record ? { branchedFrom: record } : {};
}

export function registerExportModel(program: Command): void {
  program
    .command('export-model')
    .description("write a training run's EMA generator and its Gaussian fit as a model directory")
    .requiredOption('--run <dir>', 'run folder of pulse train')
    .requiredOption('--out <dir>', 'model directory to write')
    .option('--fit-samples <n>', 'samples of the Gaussian fit', integerFlag('fit-samples', { min: 2 }), 1_000_000)
    .option('--force', 'overwrite an existing model directory')
    .action(async (flags: ExportModelFlags, cmd: Command) => {
      const backend = await initBackend(backendRequest(cmd));
      const { trainer, meta } = await loadCheckpoint(resolve(flags.run));
      const samples = flags.fitSamples;
      const bar = createProgress('gaussian fit', samples, '{bar} {value}/{total}');
      const out = resolve(flags.out);
      if (existsSync(join(out, 'model.json')) && !flags.force) throw new Error(`${out} already holds a model; pass --force to overwrite`);
      await exportModel(trainer, out, {
        fitSamples: samples,
        force: flags.force,
        metadata: { run: portablePath(resolve(flags.run)), data: meta.data, trainedOn: meta.backend, exportedOn: backend.name, ...branchMetadata(resolve(flags.run)) },
        onFitProgress: (done) => bar.update(done),
      });
      bar.stop();
      trainer.dispose();
      process.stdout.write(`wrote ${out}\n`);
    });
}
