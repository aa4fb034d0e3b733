/**
 * `pulse convert <synthesis.pt | folder> --out DIR`: official PyTorch weights -> the
 * project's model format (docs/model-format.md), checked tensor by tensor first.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { writeModelDir } from '../io/model-format.js';
import type { StateDict } from '../io/state-dict.js';
import { type ModelConfig, readModelFiles, countParameters } from '../model/model.js';
import { inferSynthesisConfig, mappingParamSpec, synthesisParamSpec, validateStateDict } from '../stylegan/params.js';
import { DEFAULT_MAPPING_CONFIG } from '../stylegan/config.js';

export interface ConvertFlags {
  out: string;
  mapping?: string;
  gaussianFit?: string;
  force?: boolean;
}

export async function convert(source: string, flags: ConvertFlags): Promise<string> {
  const files = await readModelFiles(source, { mapping: flags.mapping, gaussianFit: flags.gaussianFit });
  const synthesisConfig = files.synthesisConfig ?? inferSynthesisConfig(files.synthesis, files.synthesisSource);
  validateStateDict(files.synthesis, synthesisParamSpec(synthesisConfig), files.synthesisSource);
  const mappingConfig = files.mapping ? (files.mappingConfig ?? DEFAULT_MAPPING_CONFIG) : null;
  if (files.mapping && mappingConfig) validateStateDict(files.mapping, mappingParamSpec(mappingConfig), files.mappingSource!);
  const tensors: StateDict = new Map();
  for (const [k, v] of files.synthesis) tensors.set(`synthesis.${k}`, v);
  if (files.mapping) for (const [k, v] of files.mapping) tensors.set(`mapping.${k}`, v);
  if (files.gaussianFit) {
    tensors.set('gaussian_fit.mean', { shape: [files.gaussianFit.mean.length], data: files.gaussianFit.mean });
    tensors.set('gaussian_fit.std', { shape: [files.gaussianFit.std.length], data: files.gaussianFit.std });
  }
  const config: ModelConfig = { synthesis: synthesisConfig, mapping: mappingConfig, hasGaussianFit: files.gaussianFit !== null };
  const out = resolve(flags.out);
  await writeModelDir(
    out,
    {
      config: config as unknown as Record<string, unknown>,
      metadata: {
        ...files.metadata,
        convertedFrom: { synthesis: files.synthesisSource, mapping: files.mappingSource, gaussianFit: flags.gaussianFit ?? null },
        parameters: countParameters(files.synthesis) + (files.mapping ? countParameters(files.mapping) : 0),
      },
      tensors,
    },
    { force: flags.force },
  );
  return out;
}

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description("convert official PyTorch PULSE weights into the project's fast model format")
    .argument('<source>', 'synthesis .pt checkpoint, or a folder holding synthesis.pt [mapping.pt] [gaussian_fit.pt]')
    .requiredOption('--out <dir>', 'model directory to write')
    .option('--mapping <file>', 'mapping network .pt')
    .option('--gaussian-fit <file>', 'Gaussian fit .pt ({mean, std})')
    .option('--force', 'overwrite an existing model directory')
    .action(async (source: string, flags: ConvertFlags) => {
      const out = await convert(source, flags);
      process.stdout.write(`wrote ${out}\n`);
    });
}
