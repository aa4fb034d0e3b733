/**
 * The trainer tests' resume round trip: `before` steps, a checkpoint written to a new temporary
 * run folder, the run loaded back and `after` more steps on the same fake data.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainConfig } from '../../src/train/config.js';
import { Trainer } from '../../src/train/trainer.js';
import { type CheckpointMeta, loadCheckpoint, saveCheckpoint } from '../../src/train/checkpoint.js';
import { fakeSource } from './fake-source.js';

export async function trainThroughCheckpoint(
  cfg: TrainConfig,
  before: number,
  after: number,
  size: number,
  prefix = 'pulse-train-',
): Promise<{ run: string; resumed: Trainer; meta: CheckpointMeta }> {
  const run = mkdtempSync(join(tmpdir(), prefix));
  const first = Trainer.create(cfg);
  const source = fakeSource(size);
  for (let i = 0; i < before; i++) first.step(source);
  await saveCheckpoint(run, first, source.state(), { test: true }, 'test');
  first.dispose();
  const { trainer: resumed, meta } = await loadCheckpoint(run);
  const rest = fakeSource(size, meta.sampler as number);
  for (let i = 0; i < after; i++) resumed.step(rest);
  return { run, resumed, meta };
}
