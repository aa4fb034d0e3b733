/**
 * The `pulse train` loop around Trainer.step: the log line, sample grid and checkpoint
 * cadence, a stop after the current step (signal, deadline or image budget), and a final
 * checkpoint and sample grid. Progress is reported through a callback, so the command line
 * draws a bar and a notebook or test can do what it likes.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePng } from '../io/image.js';
import { imageGrid } from './samples.js';
import type { RealBatchSource, StepStats, Trainer } from './trainer.js';
import type { TrainingLogLine } from './training-figure.js';

export interface TrainingRunOptions {
  readonly runDir: string;
  readonly trainer: Trainer;
  readonly source: RealBatchSource;
  /** Writes a resumable checkpoint (checkpoint.ts saveCheckpoint with the run's data facts). */
  readonly save: () => Promise<unknown>;
  /** Stop (with a checkpoint) at this time, in ms since the epoch (default: never). */
  readonly deadline?: number;
  /** Asked after every step; true stops after it (e.g. Ctrl-C seen). */
  readonly stopRequested?: () => boolean;
  /** After every step, with the throughput over the last 20 steps. */
  readonly onStep?: (stats: StepStats, imagesPerSecond: number) => void;
}

/** Samples of the EMA generator for the run's fixed latents, as one 4x4 grid PNG. */
export async function writeSampleGrid(trainer: Trainer, file: string): Promise<void> {
  const grid = imageGrid(await trainer.sample(16), 16, trainer.config.resolution, 4);
  await writePng(file, grid, { force: true });
}

/** Trains until the image budget, the deadline or a stop request; always ends with a checkpoint. */
export async function runTraining(o: TrainingRunOptions): Promise<void> {
  const { trainer } = o;
  const c = trainer.config;
  const logPath = join(o.runDir, 'log.jsonl');
  const deadline = o.deadline ?? Infinity;
  let recent: number[] = [];
  while (trainer.state.images < c.totalImages && !o.stopRequested?.() && Date.now() < deadline) {
    const s = trainer.step(o.source);
    // A step is synchronous; yield so a signal handler runs before the next one.
    await new Promise((r) => setImmediate(r));
    recent = [...recent.slice(-19), s.seconds];
    const ips = c.batchSize / (recent.reduce((a, b) => a + b, 0) / recent.length);
    o.onStep?.(s, ips);
    if (s.step % c.logEvery === 0 || s.r1 !== null) {
      const line: TrainingLogLine & { time: string } = { ...s, imagesPerSecond: ips, wallSeconds: trainer.state.wallSeconds, time: new Date().toISOString() };
      appendFileSync(logPath, `${JSON.stringify(line)}\n`);
    }
    if (s.step % c.sampleEvery === 0) await writeSampleGrid(trainer, join(o.runDir, 'samples', `step-${String(s.step).padStart(7, '0')}.png`));
    if (s.step % c.checkpointEvery === 0) await o.save();
  }
  await o.save();
  await writeSampleGrid(trainer, join(o.runDir, 'samples', 'latest.png'));
}

/** Turns SIGINT/SIGTERM into a stop request after the current step; dispose() restores the defaults. */
export function stopOnSignals(onStop: () => void): { requested: () => boolean; dispose: () => void } {
  let stop = false;
  const handler = () => {
    stop = true;
    onStop();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    requested: () => stop,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
