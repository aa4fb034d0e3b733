/** `pulse model-card --model DIR [--eval eval.json]`: writes DIR/MODEL_CARD.md from recorded facts. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { readModelIndex } from '../io/model-format.js';
import { readHistory } from '../eval/history.js';
import { renderPlotSvg } from '../plot/plot-svg.js';
import { joinTrainingLogs, readTrainingLog, trainingFigure } from '../train/training-figure.js';
import { renderModelCard } from '../eval/model-card.js';
import { writeFileAtomic } from '../util/files.js';

export function registerModelCard(program: Command): void {
  program
    .command('model-card')
    .description('write MODEL_CARD.md for a model directory from its metadata and an eval-model report')
    .requiredOption('--model <dir>', 'model directory')
    .option('--eval <file>', 'JSON report of pulse eval-model')
    .option('--sample-grid <file>', 'sample grid PNG inside the model directory (relative path)')
    .option('--status <text>', 'one sentence on the state of training')
    .option('--hardware <text>', 'the machine(s) it trained on (the card cannot know: it may be written elsewhere)')
    .option('--history <file>', 'eval-model history (JSONL) to show as a table across training')
    .option('--training-log <files...>', "the run's log.jsonl (a branched run: its parents' logs first, oldest first): the loss curves go to training.svg in the model directory")
    .option('--force', 'overwrite an existing MODEL_CARD.md')
    .action(async (flags: { model: string; eval?: string; sampleGrid?: string; status?: string; hardware?: string; history?: string; trainingLog?: string[]; force?: boolean }) => {
      const dir = resolve(flags.model);
      const index = await readModelIndex(dir);
      const out = join(dir, 'MODEL_CARD.md');
      if (existsSync(out) && !flags.force) throw new Error(`${out} already exists; pass --force to rewrite it`);
      let trainingPlot: string | undefined;
      if (flags.trainingLog && flags.trainingLog.length > 0) {
        // A run that trains on after the export logs past it: the card's curves end at the model.
        const exported = (index.metadata as { training?: { imagesSeen?: number } } | undefined)?.training?.imagesSeen ?? Infinity;
        const log = joinTrainingLogs(flags.trainingLog.map((f) => ({ path: f, lines: readTrainingLog(resolve(f)) }))).filter((l) => l.images <= exported);
        if (log.length === 0) throw new Error(`${flags.trainingLog.join(', ')}: no line at or before the model's ${exported} images`);
        const figure = trainingFigure(log, `training of ${basename(dir)}: ${log[log.length - 1].images.toLocaleString('en-US')} images`);
        const svg = await renderPlotSvg(figure);
        if (!svg.ok) throw new Error(`the training curves could not be drawn: ${svg.reason}`);
        trainingPlot = 'training.svg';
        writeFileAtomic(join(dir, trainingPlot), svg.svg, true);
      }
      const evaluation = flags.eval ? JSON.parse(readFileSync(resolve(flags.eval), 'utf8')) : null;
      const card = renderModelCard({
        name: basename(dir),
        config: index.config as Record<string, unknown>,
        metadata: (index.metadata ?? {}) as Record<string, unknown>,
        evaluation,
        sampleGrid: flags.sampleGrid,
        status: flags.status,
        hardware: flags.hardware,
        history: flags.history ? readHistory(resolve(flags.history)) : undefined,
        trainingPlot,
      });
      writeFileAtomic(out, card, true);
      process.stdout.write(`wrote ${out}\n`);
    });
}
