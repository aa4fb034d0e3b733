/**
 * `pulse train`: trains the project's StyleGAN on a folder of faces, resumably (the loop is
 * src/train/training-run.ts; `pulse export-model` is in export-model.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../backend/select.js';
import { listFaces, type Split } from '../data/face-folder.js';
import { LFW_CROP } from '../data/crop.js';
import { prepareDatasetCache, type DatasetCrop } from '../data/dataset-cache.js';
import { BatchSampler, makeBatch, type BatchSamplerState } from '../data/batches.js';
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig, type TrainConfig } from '../train/config.js';
import { Trainer, type RealBatchSource } from '../train/trainer.js';
import { assertNoOrphanLog, BRANCH_RECORD, hasCheckpoint, loadCheckpoint, readBranchRecord, saveCheckpoint, setAsideLogBeyond, trainedConfig, type BranchChanges } from '../train/checkpoint.js';
import { runTraining, stopOnSignals } from '../train/training-run.js';
import { portablePath } from '../util/repo-root.js';
import { createProgress, formatSeconds } from '../util/progress.js';
import { integerFlag, numberFlag } from './flags.js';
import { backendRequest } from './backend-flag.js';

export function parseCrop(text: string): DatasetCrop {
  if (text === 'lfw') return LFW_CROP;
  if (text === 'ffhq') return 'ffhq';
  if (text === 'center') return 'center';
  const parts = text.split(',').map(Number);
  if (parts.length === 3 && parts.every((n) => Number.isInteger(n) && n >= 0)) return { left: parts[0], top: parts[1], size: parts[2] };
  throw new Error(`--crop "${text}" is not lfw, ffhq, center or LEFT,TOP,SIZE`);
}

interface TrainFlags {
  data: string;
  split: string;
  crop: string;
  out: string;
  resume?: boolean;
  branchFrom?: string;
  res: number;
  fmapBase: number;
  fmapMax: number;
  batch: number;
  totalImages?: number;
  seed: number;
  augment: string;
  r1Gamma?: number;
  lr?: number;
  maxMinutes?: number;
  checkpointEvery: number;
  sampleEvery: number;
  growFrom?: number;
  growPhaseImages: number;
  architecture: string;
  noiseMaxSide?: number;
  visionAided: string;
  visionWeight: number;
  modeSeeking: number;
  mbstdGroup: number;
  mappingLrMul: number;
  quiet?: boolean;
}

/** The run's settings from the flags; a resumed run keeps its checkpoint's. */
function configFromFlags(flags: TrainFlags): TrainConfig {
  return resolveTrainConfig({
    resolution: flags.res,
    fmapBase: flags.fmapBase,
    fmapMax: flags.fmapMax,
    batchSize: flags.batch,
    totalImages: flags.totalImages ?? DEFAULT_TRAIN_CONFIG.totalImages,
    seed: flags.seed,
    augment: flags.augment,
    ...(flags.r1Gamma !== undefined ? { r1Gamma: flags.r1Gamma } : {}),
    ...(flags.lr !== undefined ? { lrG: flags.lr, lrD: flags.lr } : {}),
    checkpointEvery: flags.checkpointEvery,
    sampleEvery: flags.sampleEvery,
    growFrom: flags.growFrom ?? null,
    growPhaseImages: flags.growPhaseImages,
    architecture: flags.architecture as TrainConfig['architecture'],
    noiseMaxSide: flags.noiseMaxSide ?? null,
    visionAided: flags.visionAided as TrainConfig['visionAided'],
    visionWeight: flags.visionWeight,
    modeSeeking: flags.modeSeeking,
    mbstdGroup: flags.mbstdGroup,
    mappingLrMul: flags.mappingLrMul,
  });
}

/** The command-line spelling of a flag's option key: fmapBase -> --fmap-base. */
function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Flags given on the command line that a resumed run cannot honour (its checkpoint fixes them). */
function ignoredOnResume(cmd: Command, flags: TrainFlags, saved: TrainConfig): string[] {
  const asked = configFromFlags(flags);
  const names: [keyof TrainFlags, keyof TrainConfig][] = [
    ['res', 'resolution'], ['fmapBase', 'fmapBase'], ['fmapMax', 'fmapMax'], ['batch', 'batchSize'], ['seed', 'seed'],
    ['augment', 'augment'], ['r1Gamma', 'r1Gamma'], ['lr', 'lrG'], ['checkpointEvery', 'checkpointEvery'], ['sampleEvery', 'sampleEvery'],
    ['growFrom', 'growFrom'], ['growPhaseImages', 'growPhaseImages'], ['architecture', 'architecture'], ['noiseMaxSide', 'noiseMaxSide'],
    ['visionAided', 'visionAided'], ['visionWeight', 'visionWeight'], ['modeSeeking', 'modeSeeking'], ['mbstdGroup', 'mbstdGroup'],
    ['mappingLrMul', 'mappingLrMul'],
  ];
  return names
    .filter(([flag, key]) => cmd.getOptionValueSource(flag) === 'cli' && asked[key] !== saved[key])
    .map(([flag, key]) => `${flagName(flag)} ${String(asked[key])} (the run has ${String(saved[key])})`);
}

/** What a branch changes: the flags given on the command line among those it may change. */
function branchChanges(cmd: Command, flags: TrainFlags): BranchChanges {
  const given = (flag: keyof TrainFlags) => cmd.getOptionValueSource(flag) === 'cli';
  const fixed = (['res', 'fmapBase', 'fmapMax', 'batch', 'seed', 'growFrom', 'growPhaseImages', 'architecture', 'noiseMaxSide'] as const).filter(given);
  if (fixed.length > 0) {
    const names = fixed.map(flagName).join(', ');
    throw new Error(`--branch-from keeps the parent run's architecture, batch, seed and growth schedule; drop ${names} (a branch may change --lr, --r1-gamma, --augment, --vision-aided, --vision-weight, --mode-seeking, --mbstd-group, --mapping-lr-mul, --total-images, --checkpoint-every, --sample-every)`);
  }
  // The mbstd group is checked against the parent's batch when the branch loads (not this command's default batch).
  const c = configFromFlags({ ...flags, mbstdGroup: DEFAULT_TRAIN_CONFIG.mbstdGroup });
  return {
    ...(flags.lr !== undefined ? { lrG: c.lrG, lrD: c.lrD } : {}),
    ...(flags.r1Gamma !== undefined ? { r1Gamma: c.r1Gamma } : {}),
    ...(given('augment') ? { augment: c.augment } : {}),
    ...(given('visionAided') ? { visionAided: c.visionAided } : {}),
    ...(given('visionWeight') ? { visionWeight: c.visionWeight } : {}),
    ...(given('modeSeeking') ? { modeSeeking: c.modeSeeking } : {}),
    ...(given('mbstdGroup') ? { mbstdGroup: flags.mbstdGroup } : {}),
    ...(given('mappingLrMul') ? { mappingLrMul: c.mappingLrMul } : {}),
    ...(flags.totalImages !== undefined ? { totalImages: c.totalImages } : {}),
    ...(given('checkpointEvery') ? { checkpointEvery: c.checkpointEvery } : {}),
    ...(given('sampleEvery') ? { sampleEvery: c.sampleEvery } : {}),
  };
}

/**
 * Starts a new run in `runDir` from another run's checkpoint under changed settings (a
 * hyperparameter change mid-training, measured against the parent continued unchanged). The
 * parent is only read; the caller writes `record` to branch.json (where the branch came from
 * and what changed) once the data is known to be the parent's.
 */
async function branch(
  flags: TrainFlags,
  cmd: Command,
  runDir: string,
): Promise<{ trainer: Trainer; samplerState: BatchSamplerState; data: unknown; record: Record<string, unknown> }> {
  const parentDir = resolve(flags.branchFrom!);
  if (flags.resume) throw new Error('--branch-from starts a new run; use --resume (without --branch-from) to continue a branch');
  if (hasCheckpoint(runDir)) throw new Error(`${runDir} already holds a training run; a branch needs a new --out (or pass --resume without --branch-from)`);
  assertNoOrphanLog(runDir);
  if (!hasCheckpoint(parentDir)) throw new Error(`--branch-from ${flags.branchFrom}: no training checkpoint there (checkpoint/model.json)`);
  const changes = branchChanges(cmd, flags);
  const { trainer, meta } = await loadCheckpoint(parentDir, changes);
  // The parent's settings as it trained (an option newer than its checkpoint: the value it had then).
  const parentConfig = trainedConfig(meta);
  const changed = Object.fromEntries(
    (Object.keys(changes) as (keyof BranchChanges)[]).filter((k) => parentConfig[k] !== changes[k]).map((k) => [k, { parent: parentConfig[k], branch: changes[k] }]),
  );
  // A branch of a branch carries its parent's record, so the whole lineage reaches the model card.
  const parentRecord = readBranchRecord(parentDir);
  const record = {
    from: portablePath(parentDir),
    step: meta.state.step,
    images: meta.state.images,
    changed,
    time: new Date().toISOString(),
    ...(parentRecord ? { parent: parentRecord } : {}),
  };
  const summary = Object.entries(changed).map(([k, v]) => `${k} ${String(v.parent)} -> ${String(v.branch)}`).join(', ') || 'nothing';
  process.stderr.write(`branched ${runDir} from ${parentDir} at step ${meta.state.step} (${meta.state.images} images); changed: ${summary}\n`);
  return { trainer, samplerState: meta.sampler as BatchSamplerState, data: meta.data, record };
}

/**
 * A resumed or branched run must see the data it was trained on: its batch sampler's positions
 * index that dataset (its count), cut by its crop from its split. A different cache key with
 * the same count, split and crop (the photos moved, or the aligner changed) is only noted.
 */
function requireSameData(saved: unknown, now: { count: number; cacheKey: string; split: string; crop: DatasetCrop }, runDir: string): void {
  const was = saved as { count?: unknown; split?: unknown; crop?: unknown; cacheKey?: unknown; dir?: unknown } | undefined;
  if (was?.count === undefined) return; // written before the data was recorded
  const same = was.count === now.count && was.split === now.split && JSON.stringify(was.crop) === JSON.stringify(now.crop);
  if (!same) {
    throw new Error(
      `${runDir} was trained on ${String(was.count)} images (${String(was.dir)}, split ${String(was.split)}, crop ${JSON.stringify(was.crop)}); ` +
        `this data gives ${now.count} (split ${now.split}, crop ${JSON.stringify(now.crop)}): pass the run's own --data, --split and --crop`,
    );
  }
  if (was.cacheKey !== now.cacheKey) process.stderr.write(`notice: the data's cache key differs from the run's (${String(was.cacheKey)} -> ${now.cacheKey}: the photos' paths or bytes, or the aligner, changed); the counts match, so training goes on\n`);
}

async function train(flags: TrainFlags, cmd: Command): Promise<void> {
  const backend = await initBackend(backendRequest(cmd));
  process.stderr.write(`backend: ${backend.description}\n`);
  const runDir = resolve(flags.out);
  mkdirSync(join(runDir, 'samples'), { recursive: true });
  let trainer: Trainer;
  let samplerState: BatchSamplerState | undefined;
  let savedData: unknown;
  let branchRecord: Record<string, unknown> | undefined;
  if (flags.branchFrom !== undefined) {
    ({ trainer, samplerState, data: savedData, record: branchRecord } = await branch(flags, cmd, runDir));
  } else if (hasCheckpoint(runDir)) {
    if (!flags.resume) throw new Error(`${runDir} already holds a training run; pass --resume to continue it, or choose another --out`);
    const loaded = await loadCheckpoint(runDir);
    trainer = loaded.trainer;
    samplerState = loaded.meta.sampler as BatchSamplerState;
    savedData = loaded.meta.data;
    for (const ignored of ignoredOnResume(cmd, flags, trainer.config)) process.stderr.write(`notice: resuming, so ${ignored} is ignored\n`);
    if (flags.totalImages !== undefined) (trainer.config as { totalImages: number }).totalImages = flags.totalImages;
    process.stderr.write(`resumed ${runDir} at step ${trainer.state.step} (${trainer.state.images} images)\n`);
    const aside = setAsideLogBeyond(runDir, trainer.state.step);
    if (aside) process.stderr.write(`notice: log.jsonl went past step ${trainer.state.step} (an older checkpoint); those lines are kept in ${aside}\n`);
  } else {
    assertNoOrphanLog(runDir);
    if (flags.resume) process.stderr.write(`notice: ${runDir} has no checkpoint yet; starting a new run\n`);
    trainer = Trainer.create(configFromFlags(flags));
  }
  const c = trainer.config;

  const crop = parseCrop(flags.crop);
  const faces = await listFaces(resolve(flags.data), { split: flags.split === 'all' ? 'all' : (flags.split as Split) });
  const prep = createProgress('preparing data', faces.length, '{bar} {value}/{total} images');
  const cache = await prepareDatasetCache(faces, { crop, size: c.resolution, onProgress: (d) => prep.update(d) });
  prep.stop();
  requireSameData(savedData, { count: cache.count, cacheKey: cache.header.key, split: flags.split, crop }, flags.branchFrom ?? runDir);
  if (branchRecord) writeFileSync(join(runDir, BRANCH_RECORD), `${JSON.stringify(branchRecord, null, 1)}\n`);
  process.stderr.write(`data: ${cache.count} images of ${flags.data} (split ${flags.split}, crop ${flags.crop}) at ${c.resolution} px\n`);
  const sampler = samplerState ? BatchSampler.restore(samplerState) : new BatchSampler(cache.count, c.batchSize, `train:${c.seed}`);
  const source: RealBatchSource = {
    size: cache.size,
    next: () => {
      const b = sampler.next();
      return makeBatch(cache, b.indices, b.flips);
    },
    state: () => sampler.state(),
  };
  const dataInfo = { dir: portablePath(flags.data), split: flags.split, crop, count: cache.count, cacheKey: cache.header.key };

  const bar = createProgress('train', c.totalImages, '{bar} {value}/{total} img | D {lossD} G {lossG} | {ips} img/s | left {left}', flags.quiet);
  const signals = stopOnSignals(() => process.stderr.write('\nstopping after this step; writing a checkpoint...\n'));
  try {
    await runTraining({
      runDir,
      trainer,
      source,
      save: () => saveCheckpoint(runDir, trainer, sampler.state(), dataInfo, backend.name),
      deadline: flags.maxMinutes !== undefined ? Date.now() + flags.maxMinutes * 60_000 : undefined,
      stopRequested: signals.requested,
      onStep: (s, ips) =>
        bar.update(s.images, { lossD: s.lossD.toFixed(3), lossG: s.lossG.toFixed(3), ips: ips.toFixed(1), left: formatSeconds((c.totalImages - s.images) / ips) }),
    });
  } finally {
    bar.stop();
    signals.dispose();
  }
  process.stderr.write(`checkpoint at step ${trainer.state.step} (${trainer.state.images} images, ${formatSeconds(trainer.state.wallSeconds)} of training) in ${runDir}\n`);
  trainer.dispose();
}

export function registerTrain(program: Command): void {
  const d = DEFAULT_TRAIN_CONFIG;
  program
    .command('train')
    .description("train the project's StyleGAN (mapping + synthesis) on a folder of faces; resumable")
    .requiredOption('--data <dir>', 'face folder: LFW-style (manifest.csv + images/) or a plain folder of aligned faces')
    .option('--split <split>', 'manifest split to train on: train, dev or all', 'train')
    .option('--crop <crop>', 'lfw (the documented LFW crop), ffhq (each photo\'s central face aligned as FFHQ is; docs/align.md), center, or LEFT,TOP,SIZE', 'lfw')
    .requiredOption('--out <dir>', 'run folder: checkpoint/, samples/, log.jsonl')
    .option('--resume', 'continue the run in --out from its checkpoint')
    .option('--branch-from <run>', 'start --out from another run\'s checkpoint under changed --lr, --r1-gamma, --augment, --vision-aided, --vision-weight, --mode-seeking, --mbstd-group, --mapping-lr-mul (the other run is only read; --out/branch.json records the change)')
    .option('--res <px>', 'generator resolution', integerFlag('res', { min: 8 }), d.resolution)
    .option('--fmap-base <n>', 'width rule base (G and D)', integerFlag('fmap-base', { min: 1 }), d.fmapBase)
    .option('--fmap-max <n>', 'maximum width', integerFlag('fmap-max', { min: 1 }), d.fmapMax)
    .option('--batch <n>', 'images per step', integerFlag('batch', { min: 1 }), d.batchSize)
    .option('--total-images <n>', 'stop after this many real images (default 2,000,000; a resumed run takes a new budget)', integerFlag('total-images', { min: 1 }))
    .option('--seed <n>', 'seed of every random draw', integerFlag('seed', { min: 0 }), d.seed)
    .option('--augment <policy>', 'differentiable augmentation of what D sees: none, or any of color,translation,cutout (DiffAugment)', d.augment)
    .option('--r1-gamma <g>', 'R1 weight (default 0.0002 * res^2 / batch, StyleGAN2-ADA)', numberFlag('r1-gamma', { min: 0 }))
    .option('--lr <lr>', `Adam learning rate of G and D (default ${d.lrG})`, numberFlag('lr', { above: 0 }))
    .option('--max-minutes <m>', 'stop (with a checkpoint) after this long', numberFlag('max-minutes', { above: 0 }))
    .option('--checkpoint-every <steps>', 'steps between checkpoints', integerFlag('checkpoint-every', { min: 1 }), d.checkpointEvery)
    .option('--sample-every <steps>', 'steps between sample grids', integerFlag('sample-every', { min: 1 }), d.sampleEvery)
    .option('--grow-from <px>', 'progressive growing (StyleGAN v1): start training at this resolution (8 up to --res) and double it in phases; the exported model is the same network', integerFlag('grow-from', { min: 8 }))
    .option('--grow-phase-images <n>', 'growing: real images per phase (train a resolution, then fade in the next; v1: 600,000)', integerFlag('grow-phase-images', { min: 1 }), d.growPhaseImages)
    .option('--architecture <arch>', "how G forms its image: orig (StyleGAN v1's single toRGB, what the official code searches) or skip (StyleGAN2's toRGB per block, summed; docs/training.md)", d.architecture)
    .option('--noise-max-side <px>', 'train with noise only in layers up to this side (4 up to --res; finer layers get none and export with noise strength 0); default: every layer, as StyleGAN', integerFlag('noise-max-side', { min: 4 }))
    .option('--vision-aided <net>', "a vision-aided discriminator beside D: a trainable head on a frozen network's features (none, or age-gender: face-api's age and gender net; docs/training.md)", d.visionAided)
    .option('--vision-weight <w>', 'weight of the vision-aided losses in D and G', numberFlag('vision-weight', { min: 0 }), d.visionWeight)
    .option('--mode-seeking <w>', "weight of a mode-seeking term in G's loss: images whose latents differ should differ in a frozen face network's features (Mao et al. 2019; 0: none)", numberFlag('mode-seeking', { min: 0 }), d.modeSeeking)
    .option('--mbstd-group <n>', "minibatch-stddev group size: D sees the spread of each group of this many images (StyleGAN: 4; StyleGAN2-ADA's CIFAR setting: 32, the whole batch; must divide --batch)", integerFlag('mbstd-group', { min: 1 }), d.mbstdGroup)
    .option('--mapping-lr-mul <k>', "the mapping network's learning rate as a fraction of G's (StyleGAN: 0.01, sized for millions of images; the exported model is the same network)", numberFlag('mapping-lr-mul', { above: 0 }), d.mappingLrMul)
    .option('--quiet', 'no progress bar')
    .action(train);
}
