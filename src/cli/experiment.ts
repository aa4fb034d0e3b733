/**
 * `pulse experiment <config.json>`: runs a grid of images x seeds x PULSE hyperparameters
 * (experiments/README.md), resumably and optionally sharded; `pulse experiment summarize
 * <config.json>` merges every shard's results into summary.csv and summary.json.
 */
import { Command, Option } from 'commander';
import { loadExperimentConfig } from '../experiments/config.js';
import { describePick, pickShard } from '../run-store/shard.js';
import { runExperiment, summarizeExperiment } from '../experiments/runner.js';
import { integerFlag } from './flags.js';
import { backendRequest } from './backend-flag.js';

interface ExperimentFlags {
  shard?: string;
  dryRun?: boolean;
  summarize?: boolean;
  retryFailed?: boolean;
  maxRuns?: number;
  quiet?: boolean;
}

const nonNegativeInt = (name: string) => integerFlag(name, { min: 0 });

export function registerExperiment(program: Command): void {
  const cmd = program
    .command('experiment')
    .description('run a grid of images x seeds x PULSE options from a JSON config (resumable, shardable); see experiments/README.md')
    .argument('<config>', 'experiment config (JSON)')
    .option('--shard <i/n>', 'run only shard i of n (runs whose grid index mod n is i-1), appending to results.shard-i-of-n.jsonl; default: the Slurm array task or Kubernetes completion index, if any')
    .option('--dry-run', 'list the runs (index, id, status, image, seed, options) and do nothing')
    .option('--summarize', 'write summary.csv and summary.json afterwards')
    .option('--retry-failed', 'run again the runs recorded as errors')
    .addOption(new Option('--max-runs <n>', 'stop after n runs (the next call goes on)').argParser(nonNegativeInt('max-runs')))
    .option('--quiet', 'no progress bar')
    .action(async (configPath: string, flags: ExperimentFlags, command: Command) => {
      const config = loadExperimentConfig(configPath);
      const picked = pickShard(flags.shard, process.env);
      process.stderr.write(`${describePick(picked)}\n`);
      const shard = picked.shard;
      const report = await runExperiment(config, {
        shard,
        dryRun: flags.dryRun,
        backend: backendRequest(command),
        maxRuns: flags.maxRuns,
        retryFailed: flags.retryFailed,
        quiet: flags.quiet,
      });
      if (flags.summarize && !flags.dryRun) await summarizeExperiment(config);
      process.exitCode = report.failed > 0 ? 1 : 0;
    });
  cmd
    .command('summarize')
    .description('merge the results of every shard into summary.csv and summary.json (one row per grid point)')
    .argument('<config>', 'experiment config (JSON)')
    .action(async (configPath: string) => {
      await summarizeExperiment(loadExperimentConfig(configPath));
      process.exitCode = 0;
    });
}
