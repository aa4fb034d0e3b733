/**
 * Runs an experiment's grid (or one shard of it), resumably, in the run loop of src/run-store/loop.ts:
 * runs whose id already has a line in any results file of the folder are skipped; each finished
 * run appends one line (see results.ts). A bad image or a failing run is recorded as a line with
 * status "error" and the grid goes on. One process per results file: a lock file refuses a second one.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/select.js';
import { LFW_CROP, cropAndResize } from '../data/crop.js';
import { type RgbImage, imageFromNhwc, readImage, writePng } from '../io/image.js';
import { type LoadedModel, loadModel } from '../model/model.js';
import { defaultModelPath } from '../model/default-model.js';
import { modelFingerprint } from '../model/fingerprint.js';
import { BicubicDownsampler } from '../pulse/bicubic.js';
import { factorFor, runPulse } from '../pulse/run.js';
import { warmUpPulse } from '../pulse/warm-up.js';
import { type RunLoopReport, type RunSession, isFinished, runPending, runStatuses } from '../run-store/loop.js';
import { type Shard, shardLabel, shardRuns } from '../run-store/shard.js';
import { resultsFileName } from '../run-store/store.js';
import { writeFileAtomic } from '../util/files.js';
import { type Progress, createProgress, formatSeconds } from '../util/progress.js';
import type { ExperimentConfig } from './config.js';
import { type ImageSpec, type RunSpec, expandGrid, listImages, pointLabel } from './grid.js';
import {
  RESULT_VERSION,
  type PointSummary,
  type ResultLine,
  compactTrace,
  isResultLine,
  readAllResults,
  solutionResults,
  summarizePoints,
  summaryCsv,
} from './results.js';

export interface RunExperimentOptions {
  /** Run only this shard (runs whose grid index mod n is i - 1); it appends to results.shard-i-of-n.jsonl. */
  readonly shard?: Shard;
  /** List the runs (and whether each is done) without running anything. */
  readonly dryRun?: boolean;
  /** Backend request (default: $PULSE_BACKEND or auto). */
  readonly backend?: string;
  /** Stop after this many runs (for tests and time-boxed jobs); the rest run on the next call. */
  readonly maxRuns?: number;
  /** Run again the runs whose recorded result is an error (default: they count as finished). */
  readonly retryFailed?: boolean;
  /** No progress bar. */
  readonly quiet?: boolean;
  /** Messages and warnings (default: stderr). */
  readonly log?: (line: string) => void;
  /** Dry-run listing (default: stdout). */
  readonly print?: (line: string) => void;
}

export type ExperimentReport = RunLoopReport<RunSpec>;

const stderrLog = (line: string) => void process.stderr.write(`${line}\n`);
const stdoutPrint = (line: string) => void process.stdout.write(`${line}\n`);

/** Runs (or lists, with dryRun) the experiment's runs of one shard. */
export async function runExperiment(config: ExperimentConfig, options: RunExperimentOptions = {}): Promise<ExperimentReport> {
  const log = options.log ?? stderrLog;
  if (options.maxRuns !== undefined && (!Number.isInteger(options.maxRuns) || options.maxRuns < 0)) {
    throw new Error(`maxRuns=${options.maxRuns} must be an integer >= 0`);
  }
  const images = await listImages(config);
  const all = expandGrid(config, images, experimentModelKey(config));
  const shardText = shardLabel(options.shard);

  if (options.dryRun) {
    const mine = shardRuns(all, options.shard);
    const { results } = readAllResults(config.out, log);
    const status = runStatuses(mine, results);
    const print = options.print ?? stdoutPrint;
    for (const r of mine) print(`${r.index}\t${r.id}\t${status.get(r.id)}\t${r.image.id}\tseed=${r.seed}\t${pointLabel(r.point)}`);
    const pending = mine.filter((r) => !isFinished(results.get(r.id), options.retryFailed)).length;
    log(
      `${config.name}: ${all.length} runs in the grid (${images.length} images x ${config.seeds.length} seeds x ${all.length / Math.max(1, images.length * config.seeds.length)} points)` +
        `${shardText ? `; shard ${shardText} has ${mine.length}` : ''}; ${mine.length - pending} finished, ${pending} to run; results in ${config.out}`,
    );
    const resultsFile = join(config.out, resultsFileName(options.shard));
    return { total: all.length, runs: mine, status, skipped: mine.length - pending, ran: 0, failed: 0, remaining: pending, resultsFile };
  }

  const report = await runPending<RunSpec, ResultLine>(
    { name: config.name, dir: config.out, runs: all, shard: options.shard, maxRuns: options.maxRuns, retryFailed: options.retryFailed, isLine: isResultLine, log },
    () => openExperimentSession(config, all.length, options, log),
  );
  if (report.ran > 0 || report.remaining > 0) {
    log(
      `${config.name}: ran ${report.ran} run(s)${report.failed ? `, ${report.failed} failed (recorded as errors)` : ''}` +
        `${report.remaining ? `; ${report.remaining} left (run the same command again to go on)` : '; this shard is complete'}`,
    );
  }
  return report;
}

/** Backend and model first, so a bad model fails before anything is written; then the loop's session. */
async function openExperimentSession(
  config: ExperimentConfig,
  total: number,
  options: RunExperimentOptions,
  log: (line: string) => void,
): Promise<RunSession<RunSpec, ResultLine>> {
  const backend = await initBackend(options.backend);
  log(`backend: ${backend.description}`);
  let modelPath = config.model;
  if (modelPath === null) {
    try {
      modelPath = defaultModelPath();
    } catch (err) {
      throw new Error(
        `${config.source}: model: not set, and the built-in model (models/default) is missing; set "model" to a model directory (model.json) or a synthesis .pt checkpoint`,
        { cause: err },
      );
    }
  }
  const model = await loadModel(modelPath);
  const resolution = model.synthesis.config.resolution;
  const factor = config.inputs.factor;
  try {
    if (resolution % factor !== 0) throw new Error(`${config.source}: inputs.factor ${factor} does not divide the model's ${resolution} px side`);
    factorFor(resolution, resolution / factor, `a ${factor}x downscaled face`);
  } catch (err) {
    model.dispose();
    throw err;
  }
  log(`model: ${model.source} (${resolution} px), LR faces ${resolution / factor} px (factor ${factor})`);

  const shardText = shardLabel(options.shard);
  const prepare = targetPreparer(model, factor);
  let bar: Progress | null = null;
  let skipped = 0;
  let remainingAtStart = 0;
  let sessionSeconds = 0;
  let started = 0;
  const labelOf = (run: RunSpec) => `${run.image.id} seed ${run.seed} ${pointLabel(run.point)}`;
  return {
    async begin(start) {
      skipped = start.skipped;
      remainingAtStart = start.pending.length;
      log(
        `${config.name}: ${total} runs in the grid${shardText ? `, ${start.mine.length} in shard ${shardText}` : ''}; ` +
          `${start.skipped} already finished, ${start.pending.length} to run; results -> ${start.resultsFile}`,
      );
      // Untimed first search (kernel set-up), so the first run's seconds are like the others'.
      if (start.todo.length > 0) await warmUpPulse(model, resolution / factor, start.todo[0].options);
      bar = createProgress(config.name, start.mine.length, '{bar} {value}/{total} runs | {run} | ETA {left}', options.quiet ?? false);
      bar.update(skipped, { run: 'starting', left: '?' });
    },
    execute(run, n) {
      started = performance.now();
      const remainingAfter = remainingAtStart - n - 1;
      const label = labelOf(run);
      return executeRun(run, {
        config,
        model,
        prepare,
        backendName: backend.name,
        shard: shardText,
        onStep: (step, total) => {
          const elapsed = (performance.now() - started) / 1000;
          const per = n > 0 ? sessionSeconds / n : (elapsed / step) * total;
          bar?.update(skipped + n, { run: `${label} step ${step}/${total}`, left: formatSeconds(Math.max(0, per * (remainingAfter + 1) - elapsed)) });
        },
      });
    },
    recorded(run, line, n) {
      sessionSeconds += (performance.now() - started) / 1000;
      const label = labelOf(run);
      if (line.status === 'error') log(`error: run ${run.id} (${label}): ${line.error}`);
      bar?.update(skipped + n + 1, { run: label, left: formatSeconds((sessionSeconds / (n + 1)) * (remainingAtStart - n - 1)) });
    },
    close() {
      bar?.stop();
      model.dispose();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// One run

type Preparer = (image: ImageSpec) => Promise<{ lr: RgbImage; notices: string[] }>;

/** LR targets, prepared once per image (the last image is cached; runs come image by image). */
function targetPreparer(model: LoadedModel, factor: number): Preparer {
  const resolution = model.synthesis.config.resolution;
  const low = resolution / factor;
  let cached: { id: string; result: Promise<{ lr: RgbImage; notices: string[] }> } | null = null;
  const downscale = (hr: RgbImage): RgbImage => {
    const down = new BicubicDownsampler(factor);
    try {
      const t = tf.tidy(() => down.apply(tf.tensor4d(hr.data, [1, resolution, resolution, 3])));
      const data = t.dataSync() as Float32Array;
      t.dispose();
      return { width: low, height: low, data };
    } finally {
      down.dispose();
    }
  };
  const load = async (image: ImageSpec) => {
    if (image.source === 'lfw') {
      const hr = await cropAndResize(image.path, image.crop === 'center' ? 'center' : LFW_CROP, resolution);
      return { lr: downscale(hr), notices: [] };
    }
    const { image: im, notices } = await readImage(image.path);
    if (im.width !== im.height) throw new Error(`${image.path} is ${im.width}x${im.height}; the experiment needs square faces (crop them first)`);
    if (im.width === resolution) return { lr: downscale(im), notices };
    if (im.width === low) return { lr: im, notices };
    throw new Error(
      `${image.path} is ${im.width}x${im.width}; with factor ${factor} this model takes HR faces of ${resolution}x${resolution} (downscaled here) or LR faces of ${low}x${low}`,
    );
  };
  return (image) => {
    if (cached?.id !== image.id) cached = { id: image.id, result: load(image) };
    return cached.result;
  };
}

interface RunContext {
  readonly config: ExperimentConfig;
  readonly model: LoadedModel;
  readonly prepare: Preparer;
  readonly backendName: string;
  readonly shard: string | null;
  readonly onStep: (step: number, total: number) => void;
}

async function executeRun(run: RunSpec, ctx: RunContext): Promise<ResultLine> {
  const { config, model } = ctx;
  const start = performance.now();
  const head = {
    v: RESULT_VERSION,
    id: run.id,
    experiment: config.name,
    index: run.index,
    image: run.image.id,
    imagePath: run.image.path,
    seed: run.seed,
    point: { ...run.point },
    options: run.options,
    shard: ctx.shard,
    backend: ctx.backendName,
    model: model.source,
    factor: config.inputs.factor,
  };
  try {
    const { lr, notices } = await ctx.prepare(run.image);
    const target = tf.tensor4d(lr.data, [1, lr.height, lr.width, 3]);
    let result;
    try {
      result = await runPulse(model, target, run.options, { onStep: (s) => ctx.onStep(s.step + 1, run.options.steps) });
    } finally {
      target.dispose();
    }
    let saved: { image: string; downscaled: string }[] | undefined;
    if (config.saveImages) {
      const dir = join(config.out, 'images');
      mkdirSync(dir, { recursive: true });
      saved = [];
      const size = { width: result.resolution, height: result.resolution };
      const lowSize = { width: result.lowResolution, height: result.lowResolution };
      for (let k = 0; k < result.batch; k++) {
        const stem = result.batch === 1 ? run.id : `${run.id}_${k + 1}`;
        const hrPath = await writeFresh(dir, stem, imageFromNhwc(result.images, k, size));
        const lrPath = await writeFresh(dir, `${stem}_lr`, imageFromNhwc(result.downscaled, k, lowSize));
        saved.push({ image: relative(config.out, hrPath), downscaled: relative(config.out, lrPath) });
      }
    }
    return {
      ...head,
      status: 'ok',
      resolution: result.resolution,
      lowResolution: result.lowResolution,
      seconds: result.seconds,
      finishedAt: new Date().toISOString(),
      solutions: solutionResults(result, run.options.eps, saved),
      trace: compactTrace(result),
      ...(notices.length ? { notices } : {}),
    };
  } catch (err) {
    return {
      ...head,
      status: 'error',
      error: err instanceof Error ? err.message : String(err),
      seconds: (performance.now() - start) / 1000,
      finishedAt: new Date().toISOString(),
    };
  }
}

/** Writes STEM.png, or STEM.r2.png, STEM.r3.png, ... when taken (a redone run never overwrites). */
async function writeFresh(dir: string, stem: string, image: RgbImage): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const path = join(dir, attempt === 1 ? `${stem}.png` : `${stem}.r${attempt}.png`);
    if (existsSync(path)) continue;
    try {
      await writePng(path, image);
      return path;
    } catch (err) {
      if (!existsSync(path)) throw err; // lost a race only if someone else created it
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Summary

export interface ExperimentSummary {
  readonly experiment: string;
  readonly config: string;
  readonly generatedAt: string;
  readonly resultFiles: readonly string[];
  readonly gridKeys: readonly string[];
  readonly runs: number;
  readonly finished: number;
  readonly failed: number;
  readonly missing: number;
  /** Result lines whose run is not in the current grid (an earlier version of the config). */
  readonly ignored: number;
  readonly points: readonly PointSummary[];
  readonly errors: readonly { id: string; image: string; seed: number; point: Record<string, unknown>; error: string }[];
}

/** Every run of the experiment as the runner sees it (ids include the model's fingerprint). */
export async function planExperiment(config: ExperimentConfig): Promise<RunSpec[]> {
  return expandGrid(config, await listImages(config), experimentModelKey(config));
}

/** The fingerprint of the experiment's model, part of every run id; undefined when it cannot be read (loading it reports why). */
function experimentModelKey(config: ExperimentConfig): string | undefined {
  try {
    return modelFingerprint(config.model ?? defaultModelPath());
  } catch {
    return undefined;
  }
}

/** Merges every results file of the folder and writes summary.csv and summary.json. */
export async function summarizeExperiment(
  config: ExperimentConfig,
  options: { log?: (line: string) => void } = {},
): Promise<{ summary: ExperimentSummary; csvPath: string; jsonPath: string }> {
  const log = options.log ?? stderrLog;
  const runs = await planExperiment(config);
  const { results, files } = readAllResults(config.out, log);
  if (files.length === 0) throw new Error(`no results in ${config.out} yet; run \`pulse experiment ${config.source}\` first`);
  const ids = new Set(runs.map((r) => r.id));
  const ignored = [...results.keys()].filter((id) => !ids.has(id)).length;
  if (ignored > 0) log(`notice: ${ignored} result(s) in ${config.out} are not runs of the current config; left out of the summary`);
  const points = summarizePoints(runs, results);
  const lines = runs.map((r) => results.get(r.id)).filter((l): l is ResultLine => l !== undefined);
  const errors = lines.filter((l) => l.status === 'error').map((l) => ({ id: l.id, image: l.image, seed: l.seed, point: l.point, error: l.error ?? '' }));
  const summary: ExperimentSummary = {
    experiment: config.name,
    config: config.source,
    generatedAt: new Date().toISOString(),
    resultFiles: files.map((f) => relative(config.out, f)),
    gridKeys: config.gridKeys,
    runs: runs.length,
    finished: lines.length - errors.length,
    failed: errors.length,
    missing: runs.length - lines.length,
    ignored,
    points,
    errors,
  };
  mkdirSync(config.out, { recursive: true });
  const csvPath = join(config.out, 'summary.csv');
  const jsonPath = join(config.out, 'summary.json');
  writeFileAtomic(csvPath, summaryCsv(config.gridKeys, points), true);
  writeFileAtomic(jsonPath, `${JSON.stringify(summary, null, 1)}\n`, true);
  log(
    `${config.name}: ${summary.finished} of ${summary.runs} runs finished, ${summary.failed} failed, ${summary.missing} not run; ` +
      `summary -> ${csvPath}, ${jsonPath}`,
  );
  return { summary, csvPath, jsonPath };
}
