/**
 * `pulse bench-data <faces> --size S --factors 8,16,32,64 --out DIR`: the fixed HR/LR face set
 * that `pulse benchmark` runs every method on (src/benchmark/bench-data.ts; docs/benchmark.md).
 * `--model M` takes the size (M's resolution) and the crop (M's training convention) from a model.
 * A face that cannot be read or aligned is reported and the others go on; the exit code is 1
 * when any was left out.
 */
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { SPLITS, type Split } from '../data/face-folder.js';
import { initBackend } from '../backend/select.js';
import { BENCH_CROPS, type BenchCrop, benchConventionOf, benchSourceLayout, cropForConvention, makeBenchData } from '../benchmark/bench-data.js';
import { loadModel } from '../model/model.js';
import { createProgress } from '../util/progress.js';
import { integerFlag, integerListFlag } from './flags.js';
import { backendRequest } from './backend-flag.js';

interface BenchDataFlags {
  size?: number;
  model?: string;
  factors: number[];
  out: string;
  split?: Split | 'all';
  crop?: BenchCrop;
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
    .addOption(new Option('--size <px>', "HR side (the generator's resolution; default: --model's)").argParser(positiveInt('size')))
    .option('--model <path>', "model whose resolution is the default --size and whose training convention (metadata data.crop) the default --crop")
    .addOption(new Option('--factors <list>', 'comma-separated downscaling factors (powers of two)').argParser(parseFactorList).default([8], '8'))
    .requiredOption('--out <dir>', 'output folder (hr/, lr-x<f>/, manifest.json)')
    .addOption(new Option('--split <name>', 'split of an LFW-style folder (default dev; plain folders: all)').choices([...SPLITS, 'all']))
    .addOption(
      new Option(
        '--crop <name>',
        "lfw: the LFW_CROP box (deep-funneled LFW); center: largest centred square; ffhq: FFHQ alignment from landmarks; lfw-aligned: LFW_CROP's framing from landmarks (any photo). Default: --model's convention, else lfw for LFW-style folders, center for plain ones",
      ).choices([...BENCH_CROPS]),
    )
    .addOption(new Option('--count <n>', 'use the first n faces (default all)').argParser(positiveInt('count')))
    .option('--force', 'overwrite existing bench data in --out')
    .option('--quiet', 'no progress bar')
    .action(async (faces: string, flags: BenchDataFlags, cmd: Command) => {
      const start = performance.now();
      // The project's backend (not tfjs's bare default), named in the output like every command's.
      const backend = await initBackend(backendRequest(cmd));
      process.stderr.write(`backend: ${backend.description}\n`);
      const { size, crop } = await sizeAndCrop(faces, flags);
      let bar: ReturnType<typeof createProgress> | null = null;
      const manifest = await makeBenchData({
        source: faces,
        size,
        factors: flags.factors,
        out: flags.out,
        split: flags.split,
        crop,
        count: flags.count,
        force: flags.force,
        onFace: (done, total, id) => {
          bar ??= createProgress('bench-data', total, '{bar} {value}/{total} faces | {face}', flags.quiet);
          bar.update(done, { face: id });
        },
        onSkip: (s) => process.stderr.write(`\nerror: ${s.error} (left out; the others go on)\n`),
      });
      (bar as ReturnType<typeof createProgress> | null)?.stop();
      const skipped = manifest.skipped ?? [];
      const out = resolve(flags.out);
      process.stderr.write(
        `${manifest.faces.length} faces (${manifest.source.layout}, split ${manifest.source.split}, crop ${manifest.crop.description}) at ${manifest.size} px, ` +
          `factors ${manifest.factors.join(', ')} in ${((performance.now() - start) / 1000).toFixed(1)} s` +
          `${skipped.length > 0 ? `; ${skipped.length} left out (manifest.json "skipped"): ${skipped.map((k) => k.source).join(', ')}` : ''}\n`,
      );
      process.stdout.write(`${out}/manifest.json\n`);
      process.exitCode = skipped.length > 0 ? 1 : 0;
    });
}

/** --size and --crop, from the flags or, where not given, from --model (its resolution and training convention). */
async function sizeAndCrop(faces: string, flags: BenchDataFlags): Promise<{ size: number; crop: BenchCrop | undefined }> {
  if (flags.model === undefined) {
    if (flags.size === undefined) throw new Error('give --size <px> (the generator\'s resolution) or --model <path> to take it from a model');
    return { size: flags.size, crop: flags.crop };
  }
  const model = await loadModel(flags.model);
  const resolution = model.synthesis.config.resolution;
  const convention = benchConventionOf(model.metadata);
  model.dispose();
  if (flags.size !== undefined && flags.size !== resolution) {
    throw new Error(`--size ${flags.size} differs from --model ${flags.model}'s resolution ${resolution}; the benchmark needs them equal (drop --size)`);
  }
  const crop = flags.crop ?? cropForConvention(convention, benchSourceLayout(faces).layout);
  process.stderr.write(
    `size ${resolution} px and crop ${crop}${flags.crop ? ' (--crop)' : ` (the model's convention: ${convention})`} from ${flags.model}\n`,
  );
  return { size: resolution, crop };
}
