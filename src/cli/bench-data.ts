/**
 * `pulse bench-data <faces> --size S --factors 8,16,32,64 --out DIR`: the fixed HR/LR face set
 * that `pulse benchmark` runs every method on (src/benchmark/bench-data.ts; docs/benchmark.md).
 */
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { SPLITS, type Split } from '../data/face-folder.js';
import { initBackend } from '../backend/select.js';
import { makeBenchData } from '../benchmark/bench-data.js';
import { createProgress } from '../util/progress.js';
import { integerFlag, integerListFlag } from './flags.js';
import { backendRequest } from './backend-flag.js';

interface BenchDataFlags {
  size: number;
  factors: number[];
  out: string;
  split?: Split | 'all';
  crop?: 'lfw' | 'center';
  count?: number;
  force?: boolean;
  quiet?: boolean;
}

const positiveInt = (name: string) => integerFlag(name, { min: 1 });

/** "8,16,32" -> [8, 16, 32]. */
export const parseFactorList = integerListFlag('factors', { min: 2 });

export function registerBenchData(program: Command): void {
  program
    .command('bench-data')
    .description('make benchmark data: HR faces at the generator size and their LR versions (PULSE bicubic) per factor, with a hashed manifest')
    .argument('<faces>', 'folder of aligned HR faces: LFW-style (manifest.csv + images/) or a plain folder of images')
    .addOption(new Option('--size <px>', "HR side (the generator's resolution)").argParser(positiveInt('size')).makeOptionMandatory())
    .addOption(new Option('--factors <list>', 'comma-separated downscaling factors (powers of two)').argParser(parseFactorList).default([8], '8'))
    .requiredOption('--out <dir>', 'output folder (hr/, lr-x<f>/, manifest.json)')
    .addOption(new Option('--split <name>', 'split of an LFW-style folder (default dev; plain folders: all)').choices([...SPLITS, 'all']))
    .addOption(new Option('--crop <name>', 'lfw: the LFW_CROP box (default for LFW-style folders); center: largest centred square (default for plain folders)').choices(['lfw', 'center']))
    .addOption(new Option('--count <n>', 'use the first n faces (default all)').argParser(positiveInt('count')))
    .option('--force', 'overwrite existing bench data in --out')
    .option('--quiet', 'no progress bar')
    .action(async (faces: string, flags: BenchDataFlags, cmd: Command) => {
      const start = performance.now();
      // The project's backend (not tfjs's bare default), named in the output like every command's.
      const backend = await initBackend(backendRequest(cmd));
      process.stderr.write(`backend: ${backend.description}\n`);
      let bar: ReturnType<typeof createProgress> | null = null;
      const manifest = await makeBenchData({
        source: faces,
        size: flags.size,
        factors: flags.factors,
        out: flags.out,
        split: flags.split,
        crop: flags.crop,
        count: flags.count,
        force: flags.force,
        onFace: (done, total, id) => {
          bar ??= createProgress('bench-data', total, '{bar} {value}/{total} faces | {face}', flags.quiet);
          bar.update(done, { face: id });
        },
      });
      (bar as ReturnType<typeof createProgress> | null)?.stop();
      const out = resolve(flags.out);
      process.stderr.write(
        `${manifest.faces.length} faces (${manifest.source.layout}, split ${manifest.source.split}, crop ${manifest.crop.description}) at ${manifest.size} px, ` +
          `factors ${manifest.factors.join(', ')} in ${((performance.now() - start) / 1000).toFixed(1)} s\n`,
      );
      process.stdout.write(`${out}/manifest.json\n`);
    });
}
