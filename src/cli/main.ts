/**
 * The `pulse` command line: thin wrappers over src/ (each command in its own file).
 */
import { Command, CommanderError } from 'commander';
import { explainBackendError } from '../backend/select.js';
import { registerUpsample } from './upsample.js';
import { registerParity } from './parity.js';
import { registerConvert } from './convert.js';
import { registerFitGaussian } from './fit-gaussian.js';
import { registerSpeed } from './speed.js';
import { registerTrain } from './train.js';
import { registerExportModel } from './export-model.js';
import { addBackendOption } from './backend-flag.js';
import { registerDemo } from './demo.js';
import { registerEvalModel } from './eval-model.js';
import { registerExperiment } from './experiment.js';
import { registerModelCard } from './model-card.js';
import { registerBenchData } from './bench-data.js';
import { registerBenchmark } from './benchmark.js';
import { registerAlign } from './align.js';
import { registerSample } from './sample.js';

export function buildProgram(): Command {
  const program = new Command('pulse')
    .description('PULSE face super-resolution by latent-space search (Menon et al., CVPR 2020), on TensorFlow.js')
    .showHelpAfterError()
    .exitOverride();
  // Every command reads --backend with backendRequest(cmd) and passes it on (no environment variable is set).
  addBackendOption(program);
  registerUpsample(program);
  registerParity(program);
  registerConvert(program);
  registerFitGaussian(program);
  registerSpeed(program);
  registerTrain(program);
  registerExportModel(program);
  registerDemo(program);
  registerEvalModel(program);
  registerExperiment(program);
  registerModelCard(program);
  registerBenchData(program);
  registerBenchmark(program);
  registerAlign(program);
  registerSample(program);
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting (so tests can call it). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`pulse: ${explainBackendError(err).message}\n`);
    return 1;
  }
}
