/**
 * Resumable training checkpoints: one model-format directory (docs/model-format.md) holding
 * G, the EMA G, D, the vision-aided head where the run has one, and the optimisers' moments as
 * named tensors (prefixes G., Gema., D., V., optG., optD., optV.), with the step counters,
 * config and the batch sampler's RNG state in its metadata. Written to a temporary folder
 * and renamed into place, so a run killed mid-write keeps its previous checkpoint.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModelDir, writeModelDir } from '../io/model-format.js';
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig, type TrainConfig } from './config.js';
import { Trainer, type TrainState, optimizerStateFrom } from './trainer.js';

export const CHECKPOINT_DIR = 'checkpoint';
/** Written by `pulse train --branch-from` into the new run: where it came from and what changed. */
export const BRANCH_RECORD = 'branch.json';

/** A branched run's record (BRANCH_RECORD), or undefined for a run started from scratch. */
export function readBranchRecord(runDir: string): Record<string, unknown> | undefined {
  const file = join(runDir, BRANCH_RECORD);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${file} is not valid JSON (${(err as Error).message}); it records where this run was branched from`);
  }
}

export interface CheckpointMeta {
  readonly kind: 'pulse-train-checkpoint';
  readonly config: TrainConfig;
  readonly state: TrainState;
  /** v: the vision-aided head's Adam (runs with one only). */
  readonly optimizerSteps: { g: number; d: number; v?: number };
  readonly sampler: unknown;
  readonly data: unknown;
  readonly backend: string;
}

export async function saveCheckpoint(runDir: string, trainer: Trainer, sampler: unknown, data: unknown, backend: string): Promise<string> {
  const final = join(runDir, CHECKPOINT_DIR);
  const tmp = join(runDir, `${CHECKPOINT_DIR}.tmp`);
  const old = join(runDir, `${CHECKPOINT_DIR}.old`);
  rmSync(tmp, { recursive: true, force: true });
  const { tensors, optimizer } = await trainer.checkpointTensors();
  const meta: CheckpointMeta = {
    kind: 'pulse-train-checkpoint',
    config: trainer.config,
    state: { ...trainer.state },
    optimizerSteps: { g: optimizer.g.t, d: optimizer.d.t, ...(optimizer.v ? { v: optimizer.v.t } : {}) },
    sampler,
    data,
    backend,
  };
  await writeModelDir(tmp, { config: { train: trainer.config }, metadata: meta as unknown as Record<string, unknown>, tensors });
  rmSync(old, { recursive: true, force: true });
  if (existsSync(final)) renameSync(final, old);
  renameSync(tmp, final);
  rmSync(old, { recursive: true, force: true });
  return final;
}

/**
 * A new run must not append to another run's log: a folder with a log.jsonl but no checkpoint
 * held a run whose checkpoint was lost (a new machine without the ignored folder, say).
 */
export function assertNoOrphanLog(runDir: string): void {
  if (!hasCheckpoint(runDir) && existsSync(join(runDir, 'log.jsonl'))) {
    throw new Error(
      `${runDir} has a log.jsonl from an earlier run but no checkpoint to resume it; move the log aside (or restore checkpoint/) before starting again there, or choose another --out`,
    );
  }
}

/**
 * A run resumed from an older checkpoint than its log reached (a new machine with only the
 * committed checkpoint, say) would append the same steps a second time. The log lines past
 * `step` are moved, whole, into `log.beyond-step-<step>.jsonl` (never over an existing file) and
 * log.jsonl keeps the lines up to `step`. Returns the new file, or null when nothing lay beyond.
 */
export function setAsideLogBeyond(runDir: string, step: number): string | null {
  const log = join(runDir, 'log.jsonl');
  if (!existsSync(log)) return null;
  // Each non-empty line with its step; the line number (from 1, blank lines counted) for errors.
  const lines = readFileSync(log, 'utf8')
    .split('\n')
    .map((text, i) => ({ text, number: i + 1 }))
    .filter((l) => l.text.trim() !== '')
    .map(({ text, number }) => {
      try {
        return { text, step: Number((JSON.parse(text) as { step?: unknown }).step) };
      } catch {
        throw new Error(`${log}:${number} is not a JSON line; mend or remove it before resuming`);
      }
    });
  const keep = lines.filter((l) => !(l.step > step)).map((l) => l.text);
  const beyond = lines.filter((l) => l.step > step).map((l) => l.text);
  if (beyond.length === 0) return null;
  let aside = join(runDir, `log.beyond-step-${step}.jsonl`);
  for (let k = 2; existsSync(aside); k++) aside = join(runDir, `log.beyond-step-${step}-${k}.jsonl`);
  writeFileSync(aside, `${beyond.join('\n')}\n`);
  const tmp = `${log}.tmp`;
  writeFileSync(tmp, keep.length > 0 ? `${keep.join('\n')}\n` : '');
  renameSync(tmp, log);
  return aside;
}

export function hasCheckpoint(runDir: string): boolean {
  return existsSync(join(runDir, CHECKPOINT_DIR, 'model.json')) || existsSync(join(runDir, `${CHECKPOINT_DIR}.old`, 'model.json'));
}

/** Settings a branch of a run may change: they alter how it learns, not what it is. */
export type BranchChanges = Partial<Pick<TrainConfig, 'lrG' | 'lrD' | 'r1Gamma' | 'augment' | 'totalImages' | 'checkpointEvery' | 'sampleEvery' | 'visionAided' | 'visionWeight' | 'modeSeeking' | 'mbstdGroup' | 'mappingLrMul'>>;

/** The config a checkpoint's run was trained with: options added after it was written take the value it had then. */
export function trainedConfig(meta: CheckpointMeta): TrainConfig {
  return {
    ...meta.config,
    augment: meta.config.augment ?? 'none',
    growFrom: meta.config.growFrom ?? null,
    growPhaseImages: meta.config.growPhaseImages ?? DEFAULT_TRAIN_CONFIG.growPhaseImages,
    architecture: meta.config.architecture ?? 'orig',
    noiseMaxSide: meta.config.noiseMaxSide ?? null,
    visionAided: meta.config.visionAided ?? 'none',
    visionWeight: meta.config.visionWeight ?? DEFAULT_TRAIN_CONFIG.visionWeight,
    modeSeeking: meta.config.modeSeeking ?? 0,
    mappingLrMul: meta.config.mappingLrMul ?? DEFAULT_TRAIN_CONFIG.mappingLrMul,
  };
}

/**
 * Loads the newest complete checkpoint (falls back to `.old` if a rename was interrupted).
 * `changes` branches the run: the same weights, moments and counters under new settings.
 */
export async function loadCheckpoint(runDir: string, changes: BranchChanges = {}): Promise<{ trainer: Trainer; meta: CheckpointMeta }> {
  let dir = join(runDir, CHECKPOINT_DIR);
  if (!existsSync(join(dir, 'model.json'))) dir = join(runDir, `${CHECKPOINT_DIR}.old`);
  if (!existsSync(join(dir, 'model.json'))) throw new Error(`${runDir} has no training checkpoint (${CHECKPOINT_DIR}/model.json); start without --resume`);
  // Every tensor's SHA-256 is checked: a resumed run never continues from corrupt bytes.
  const { metadata, tensors } = await readModelDir(dir, { verify: true });
  const meta = metadata as unknown as CheckpointMeta;
  if (meta?.kind !== 'pulse-train-checkpoint') throw new Error(`${dir} is not a pulse train checkpoint`);
  // Validated as a whole: a change must fit the run's fixed settings (an mbstd group its batch divides).
  const config: TrainConfig = resolveTrainConfig({ ...trainedConfig(meta), ...changes });
  const trainer = Trainer.restore(config, tensors, { ...meta.state }, {
    g: optimizerStateFrom(tensors, 'G', meta.optimizerSteps.g),
    d: optimizerStateFrom(tensors, 'D', meta.optimizerSteps.d),
    ...(meta.optimizerSteps.v !== undefined ? { v: optimizerStateFrom(tensors, 'V', meta.optimizerSteps.v) } : {}),
  });
  return { trainer, meta };
}
