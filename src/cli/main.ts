/**
 * The `pulse` command line: thin wrappers over src/ (each command in its own file).
 */
import { Command, CommanderError } from 'commander';
import { addBackendOption } from './backend-flag.js';

type Register = (program: Command) => void;

/**
 * Every command, by name (and alias), with the module that registers it. A command's module is
 * imported only when that command runs (or for help over all of them): importing every command
 * costs about 60 MB and a fraction of a second that one command does not need.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  upsample: async () => (await import('./upsample.js')).registerUpsample,
  parity: async () => (await import('./parity.js')).registerParity,
  convert: async () => (await import('./convert.js')).registerConvert,
  'fit-gaussian': async () => (await import('./fit-gaussian.js')).registerFitGaussian,
  speed: async () => (await import('./speed.js')).registerSpeed,
  train: async () => (await import('./train.js')).registerTrain,
  'export-model': async () => (await import('./export-model.js')).registerExportModel,
  demo: async () => (await import('./demo.js')).registerDemo,
  'eval-model': async () => (await import('./eval-model.js')).registerEvalModel,
  experiment: async () => (await import('./experiment.js')).registerExperiment,
  'model-card': async () => (await import('./model-card.js')).registerModelCard,
  'bench-data': async () => (await import('./bench-data.js')).registerBenchData,
  benchmark: async () => (await import('./benchmark.js')).registerBenchmark,
  align: async () => (await import('./align.js')).registerAlign,
  sample: async () => (await import('./sample.js')).registerSample,
};
const ALIASES: Record<string, string> = { bench: 'speed' };

/** The command named in argv (skipping global options and their values), if it is one of ours. */
export function commandNamed(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--backend') i++;
    else if (!a.startsWith('-')) {
      const name = ALIASES[a] ?? a;
      return name in COMMANDS ? name : undefined;
    }
  }
  return undefined;
}

/** The program with the command argv names, or with every command (help, or an unknown name). */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
  const program = new Command('pulse')
    .description('PULSE face super-resolution by latent-space search (Menon et al., CVPR 2020), on TensorFlow.js')
    .showHelpAfterError()
    .exitOverride();
  // Every command reads --backend with backendRequest(cmd) and passes it on (no environment variable is set).
  addBackendOption(program);
  const named = commandNamed(argv);
  const wanted = named !== undefined ? [named] : Object.keys(COMMANDS);
  for (const register of await Promise.all(wanted.map((name) => COMMANDS[name]()))) register(program);
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting (so tests can call it). */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const { explainBackendError } = await import('../backend/select.js');
    process.stderr.write(`pulse: ${explainBackendError(err).message}\n`);
    return 1;
  }
}
