/**
 * `pulse speed` (alias `pulse speed`, npm run bench): seconds per PULSE step on a random-weight
 * generator of a given size (src/speed/bench.ts), for BENCHMARKS.md. Named apart from
 * `pulse benchmark`, which measures quality; `bench` stays as an alias so no script breaks.
 */
import type { Command } from 'commander';
import { runBench } from '../speed/bench.js';
import { backendRequest } from './backend-flag.js';
import { integerFlag } from './flags.js';

export interface BenchFlags {
  res: number;
  fmapBase: number;
  factor: number;
  batch: number;
  steps: number;
  json?: boolean;
}

export function registerSpeed(program: Command): void {
  program
    .command('speed')
    .alias('bench')
    .description('time PULSE steps on a random-weight generator (median excludes the first, warm-up step)')
    .option('--res <px>', 'generator resolution', integerFlag('res', { min: 4 }), 64)
    .option('--fmap-base <n>', 'StyleGAN fmap_base', integerFlag('fmap-base', { min: 1 }), 8192)
    .option('--factor <k>', 'downscaling factor', integerFlag('factor', { min: 1 }), 8)
    .option('--batch <n>', 'solutions optimised together', integerFlag('batch', { min: 1 }), 1)
    .option('--steps <n>', 'steps to time', integerFlag('steps', { min: 2 }), 5)
    .option('--json', 'print one JSON object on stdout')
    .action(async (flags: BenchFlags, cmd: Command) => {
      const r = await runBench({
        backend: backendRequest(cmd),
        res: flags.res,
        fmapBase: flags.fmapBase,
        factor: flags.factor,
        batch: flags.batch,
        steps: flags.steps,
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        process.stdout.write(
          `${r.backend}: ${r.res}px fmap_base ${r.fmap_base} factor ${r.factor} batch ${r.batch}: median ${r.median_step_s.toFixed(3)} s/step ` +
            `(first ${r.first_step_s.toFixed(2)} s), peak RSS ${r.peak_rss_mb.toFixed(0)} MB, tensors ${r.tensors_before} -> ${r.tensors_after}\n`,
        );
      }
    });
}
