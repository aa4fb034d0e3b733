/**
 * `pulse benchmark`: every method on every face of a bench-data folder (src/benchmark/bench-data.ts),
 * at one factor, with the same LR inputs, resumably and optionally sharded.
 *
 * Runs, in a fixed order: for each face (manifest order), for each method (as listed, `hr` first),
 * for each seed (PULSE: every seed of the config; the deterministic methods: seed 0 only). Each
 * run has an id that hashes what it computes (face and file hashes, method, seed, factor and the
 * method's settings: `benchRunId`), so a resumed or re-ordered benchmark never renames a run. The
 * run loop and store of src/run-store (loop.ts, store.ts) do the rest: every finished run appends one
 * JSON line (`BenchResultLine`; one write + fsync, a torn last line cut before appending) to
 * `results.jsonl`, or `results.shard-i-of-n.jsonl` for shard i/n (runs whose index mod n is i-1);
 * runs with a line in any results file of the folder are skipped (errors too, unless
 * retryFailed); one process per results file (a lock file).
 *
 * Methods: `hr` (the HR itself: the reference row of the table), `nearest`, `bicubic`, `esrgan`
 * (src/benchmark/baselines.ts), `pulse` (src/pulse/run.ts, one run per seed; `duplicates`
 * solutions per run). Each output is saved as a PNG (torchvision rounding) under
 * `images/<method>/` and measured as saved (8-bit): NIQE after upscaleForNiqe, PSNR and SSIM
 * against the HR, LR-consistency MSE (the output downscaled with PULSE's BicubicDownsampler
 * against the LR input, both on [0, 1]; success = MSE <= eps, the PULSE criterion, for every
 * method alike), and the identity distance to the HR (src/benchmark/identity.ts).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/select.js';
import { type Progress, createProgress } from '../util/progress.js';
import { canonicalJson } from '../experiments/config.js';
import { type CompactTrace, type ResultLine, type SolutionResult, compactTrace, solutionResults } from '../experiments/results.js';
import { type RgbImage, imageFromNhwc, toBytesLikeTorchvision, writePng } from '../io/image.js';
import { type NiqeParams, loadNiqeParams, sha256Hex } from '../metrics/niqe-model.js';
import { niqe, upscaleForNiqe } from '../metrics/niqe.js';
import { psnr } from '../metrics/psnr.js';
import { rgbToY } from '../metrics/color.js';
import { ssim, ssimY } from '../metrics/ssim.js';
import { type LoadedModel, loadModel } from '../model/model.js';
import { BicubicDownsampler } from '../pulse/bicubic.js';
import { DEFAULT_PULSE_OPTIONS, type PulseOptions, resolveOptions } from '../pulse/options.js';
import { type PulseResult, runPulse } from '../pulse/run.js';
import { warmUpPulse } from '../pulse/warm-up.js';
import { writeJsonAtomic } from '../util/files.js';
import { type BenchFace, type BenchManifest, readBenchImage, readBenchManifest } from './bench-data.js';
import { BASELINE_DESCRIPTIONS, type BicubicKernel, type EsrganUpscaler, bicubicDescription, esrganPlan, loadEsrgan, upscaleBicubic, upscaleNearest } from './baselines.js';
import { type IdentityResult, SAME_PERSON_THRESHOLD, compareIdentity, describe } from './identity.js';
import { fileFingerprint, modelFingerprint } from '../model/fingerprint.js';
import { type RunLoopReport, type RunSession, runPending } from '../run-store/loop.js';
import { type Shard, shardLabel } from '../run-store/shard.js';
import { type RunLine, isRunLine } from '../run-store/store.js';

export const BENCH_METHODS = ['hr', 'nearest', 'bicubic', 'esrgan', 'pulse'] as const;
export type BenchMethod = (typeof BENCH_METHODS)[number];
export const BENCH_CONFIG_FILE = 'benchmark.json';
export const BENCH_RESULT_VERSION = 1;
/** upscaleForNiqe's minimum side (its default): every image gets at least 2 x 2 blocks of 96 px. */
export const NIQE_MIN_SIDE = 192;

/** Parses "pulse,bicubic,nearest,esrgan"; `hr` (the reference row) is always added first. */
export function parseMethods(text: string | readonly string[]): BenchMethod[] {
  const names = (typeof text === 'string' ? text.split(',') : [...text]).map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) {
    if (!(BENCH_METHODS as readonly string[]).includes(n)) throw new Error(`unknown method "${n}"; methods: ${BENCH_METHODS.join(', ')}`);
  }
  const set = new Set<BenchMethod>(['hr', ...(names as BenchMethod[])]);
  return [...set];
}

// ---------------------------------------------------------------------------------------------
// Config and plan

/** What a benchmark folder was run with (benchmark.json; the summary reads it). */
export interface BenchmarkConfig {
  readonly version: number;
  /** Absolute bench-data folder. */
  readonly data: string;
  readonly dataManifestSha256: string;
  readonly factor: number;
  readonly size: number;
  readonly lowResolution: number;
  readonly methods: readonly BenchMethod[];
  /** PULSE run seeds (solution k of a run uses seed + k). */
  readonly seeds: readonly number[];
  /** PULSE options (its `seed` is the first run's); null without pulse. */
  readonly pulse: PulseOptions | null;
  /** The PULSE model (resolved path), null without pulse. */
  readonly model: string | null;
  /** Hash of the model's files: part of PULSE's run ids, so another model never reuses results. */
  readonly modelFingerprint: string | null;
  /** The `--gaussian-fit` file (resolved path) that replaces the model's own fit; null without one. */
  readonly gaussianFit: string | null;
  /** Hash of that file's bytes: part of PULSE's run ids, so results made with another fit are never reused. */
  readonly gaussianFitFingerprint: string | null;
  /** Success threshold on the LR-consistency MSE, for every method (PULSE's eps). */
  readonly eps: number;
  readonly identity: boolean;
  readonly sameThreshold: number;
  readonly niqe: { readonly params: string; readonly sha256: string; readonly minSide: number };
  readonly esrgan: { readonly plan: readonly number[]; readonly tile: number } | null;
  /** Bicubic kernel (see baselines.ts). */
  readonly bicubic: BicubicKernel;
}

export interface BenchRun {
  /** Position in the whole plan (0-based; shards take index mod n). */
  readonly index: number;
  readonly id: string;
  readonly face: BenchFace;
  readonly method: BenchMethod;
  readonly seed: number;
}

/** The settings a method's output depends on (part of the run id). */
function methodKey(config: BenchmarkConfig, method: BenchMethod): unknown {
  switch (method) {
    case 'pulse': {
      const { seed: _seed, ...rest } = config.pulse!;
      // Without --gaussian-fit the key is what it was before fits were hashed (those results stay valid).
      return { options: rest, model: config.modelFingerprint, ...(config.gaussianFitFingerprint ? { gaussianFit: config.gaussianFitFingerprint } : {}) };
    }
    case 'esrgan':
      return { plan: config.esrgan?.plan ?? null };
    case 'bicubic':
      return { kernel: config.bicubic };
    default:
      return {};
  }
}

/**
 * The id of one run: a hash of everything its output depends on (the face's HR and LR files, the
 * factor, the method, the seed and the method's settings from `methodKey`). A new setting that
 * changes an output goes into the config and `methodKey`, not into this signature.
 */
export function benchRunId(config: BenchmarkConfig, face: BenchFace, method: BenchMethod, seed: number): string {
  const lr = face.lr[String(config.factor)];
  if (!lr) throw new Error(`bench data face ${face.id} has no factor ${config.factor} (it has ${Object.keys(face.lr).join(', ')})`);
  return createHash('sha256')
    .update(
      canonicalJson({
        v: BENCH_RESULT_VERSION,
        face: face.id,
        hr: face.hr.sha256,
        lr: lr.sha256,
        factor: config.factor,
        method,
        seed,
        settings: methodKey(config, method),
      }),
    )
    .digest('hex')
    .slice(0, 16);
}

/** Every run of a benchmark, in order (see the module comment). */
export function planBenchmark(manifest: BenchManifest, config: BenchmarkConfig): BenchRun[] {
  const runs: BenchRun[] = [];
  for (const face of manifest.faces) {
    for (const method of config.methods) {
      const seeds = method === 'pulse' ? config.seeds : [0];
      for (const seed of seeds) runs.push({ index: runs.length, id: benchRunId(config, face, method, seed), face, method, seed });
    }
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// Result lines

/** The measurements of one output image (all on the 8-bit image as saved). */
export interface BenchOutput {
  /** The saved PNG, relative to the benchmark folder. */
  readonly image: string;
  /** Seed of this solution (PULSE: run seed + k; others: 0). */
  readonly seed: number;
  /** NIQE after upscaleForNiqe (null when NIQE is undefined, e.g. a constant image; see niqeError). */
  readonly niqe: number | null;
  readonly niqeError?: string;
  /** The upscaleForNiqe factor applied before NIQE. */
  readonly niqeUpscale: number;
  /** PSNR (dB) against the HR over all RGB values; null when identical (infinite). */
  readonly psnr: number | null;
  /** PSNR on the float Y (BT.601, as ssimY). */
  readonly psnrY: number | null;
  /** SSIM against the HR, mean over RGB channels (scikit-image settings). */
  readonly ssim: number;
  /** SSIM on Y. */
  readonly ssimY: number;
  /** MSE of the output downscaled with PULSE's BicubicDownsampler against the LR input, [0, 1] scale. */
  readonly lrMse: number;
  /** lrMse <= eps. */
  readonly success: boolean;
  /** Identity against the HR (null when identity was not measured). */
  readonly identity: IdentityResult | null;
  /** The 128-d descriptor (6 significant digits), null when no face was found or not measured. */
  readonly descriptor: number[] | null;
}

/**
 * One line per (face, method, seed). Shares ResultLine's fields (so results.ts reads, merges and
 * repairs these files) except `options`, which is null for the methods other than PULSE.
 */
export interface BenchResultLine extends Omit<ResultLine, 'options' | 'solutions' | 'trace'> {
  readonly kind: 'benchmark';
  readonly method: BenchMethod;
  readonly options: PulseOptions | null;
  /** One per output image (PULSE: one per duplicate). */
  readonly outputs?: BenchOutput[];
  /** PULSE's own per-solution outcome (its minimum MSE over the steps, on unrounded images). */
  readonly solutions?: SolutionResult[];
  readonly trace?: CompactTrace;
  /** Seconds spent measuring the outputs (not included in `seconds`). */
  readonly metricSeconds?: number;
}

/** A run-store record that is a benchmark line (the guard the benchmark's run store reads with). */
export function isBenchLine(record: unknown): record is BenchResultLine {
  if (!isRunLine(record) || !('kind' in record) || !('method' in record)) return false;
  return record.kind === 'benchmark' && (BENCH_METHODS as readonly unknown[]).includes(record.method);
}

/** The line as a benchmark line, or null when it is of another kind (notebooks read lines this way). */
export function asBenchLine(line: RunLine): BenchResultLine | null {
  return isBenchLine(line) ? line : null;
}

// ---------------------------------------------------------------------------------------------
// Running

export interface BenchmarkOptions {
  /** Bench-data folder. */
  readonly data: string;
  readonly out: string;
  /** Methods (`hr` is added). */
  readonly methods: readonly BenchMethod[];
  readonly factor: number;
  /** PULSE run seeds (default [1]). */
  readonly seeds?: readonly number[];
  /** PULSE options (seed ignored; default PULSE's). */
  readonly pulse?: Partial<Omit<PulseOptions, 'seed'>>;
  /** PULSE model (needed with `pulse`). */
  readonly model?: string;
  readonly gaussianFit?: string;
  /** NIQE pristine params (.npz or .json). */
  readonly niqeParams: string;
  /** Measure identity with face descriptors (default true). */
  readonly identity?: boolean;
  /** ESRGAN tile side in LR px (default 48). */
  readonly esrganTile?: number;
  /** Bicubic kernel: 'matlab' (default) or 'sharp'. */
  readonly bicubic?: BicubicKernel;
  readonly shard?: Shard;
  readonly maxRuns?: number;
  readonly retryFailed?: boolean;
  readonly backend?: string;
  readonly quiet?: boolean;
  readonly log?: (line: string) => void;
}

export interface BenchmarkReport extends RunLoopReport<BenchRun> {
  readonly config: BenchmarkConfig;
  /** Mean seconds per output image of the runs done now, by method (method time only). */
  readonly secondsPerImage: Partial<Record<BenchMethod, number>>;
}

const stderrLog = (line: string) => void process.stderr.write(`${line}\n`);

/** Builds the config (and checks the inputs) without running anything. */
export function benchmarkConfig(options: BenchmarkOptions, manifest: BenchManifest): BenchmarkConfig {
  const methods = parseMethods(options.methods);
  const factor = options.factor;
  if (!manifest.factors.includes(factor)) {
    throw new Error(`the bench data in ${options.data} has factors ${manifest.factors.join(', ')}; --factor ${factor} is not among them`);
  }
  const hasPulse = methods.includes('pulse');
  const seeds = [...(options.seeds ?? [1])];
  if (seeds.length === 0) throw new Error('give at least one seed');
  const pulse = hasPulse ? resolveOptions({ ...options.pulse, seed: seeds[0] }) : null;
  if (hasPulse && !options.model) throw new Error('the pulse method needs --model (a model directory or a synthesis .pt checkpoint)');
  const paramsBytes = readFileSync(options.niqeParams);
  return {
    version: BENCH_RESULT_VERSION,
    data: resolve(options.data),
    dataManifestSha256: createHash('sha256').update(readFileSync(join(resolve(options.data), 'manifest.json'))).digest('hex'),
    factor,
    size: manifest.size,
    lowResolution: manifest.size / factor,
    methods,
    seeds: hasPulse ? seeds : [],
    pulse,
    model: hasPulse ? resolve(options.model!) : null,
    modelFingerprint: hasPulse ? modelFingerprint(options.model!) : null,
    gaussianFit: hasPulse && options.gaussianFit ? resolve(options.gaussianFit) : null,
    gaussianFitFingerprint: hasPulse && options.gaussianFit ? fileFingerprint(options.gaussianFit, '--gaussian-fit') : null,
    eps: pulse?.eps ?? options.pulse?.eps ?? DEFAULT_PULSE_OPTIONS.eps,
    identity: options.identity ?? true,
    sameThreshold: SAME_PERSON_THRESHOLD,
    niqe: { params: resolve(options.niqeParams), sha256: sha256Hex(paramsBytes), minSide: NIQE_MIN_SIDE },
    esrgan: methods.includes('esrgan') ? { plan: esrganPlan(factor), tile: options.esrganTile ?? 48 } : null,
    bicubic: options.bicubic ?? 'matlab',
  };
}

/** Runs (the pending runs of one shard of) a benchmark; see the module comment. */
export async function runBenchmark(options: BenchmarkOptions): Promise<BenchmarkReport> {
  const log = options.log ?? stderrLog;
  if (options.maxRuns !== undefined && (!Number.isInteger(options.maxRuns) || options.maxRuns < 0)) {
    throw new Error(`maxRuns=${options.maxRuns} must be an integer >= 0`);
  }
  const dataDir = resolve(options.data);
  const out = resolve(options.out);
  const manifest = readBenchManifest(dataDir);
  const config = benchmarkConfig(options, manifest);
  const niqeParams = loadNiqeParams(config.niqe.params);
  const all = planBenchmark(manifest, config);
  mkdirSync(out, { recursive: true });
  writeJsonAtomic(join(out, BENCH_CONFIG_FILE), config, true);
  const perImage = new Map<BenchMethod, number[]>();
  const report = await runPending<BenchRun, BenchResultLine>(
    { name: 'benchmark', dir: out, runs: all, shard: options.shard, maxRuns: options.maxRuns, retryFailed: options.retryFailed, isLine: isBenchLine, log },
    () => openBenchmarkSession({ options, manifest, config, dataDir, out, niqeParams, total: all.length, perImage, log }),
  );
  const secondsPerImage: Partial<Record<BenchMethod, number>> = {};
  for (const [m, v] of perImage) secondsPerImage[m] = v.reduce((a, b) => a + b, 0) / v.length;
  if (report.ran > 0 || report.remaining > 0) {
    const shardText = shardLabel(options.shard);
    log(
      `benchmark: ran ${report.ran} runs (${report.failed} failed); ${report.remaining} of ${report.runs.length}${shardText ? ` in shard ${shardText}` : ''} still to run; results in ${report.resultsFile}`,
    );
  }
  return { config, ...report, secondsPerImage };
}

interface SessionInputs {
  readonly options: BenchmarkOptions;
  readonly manifest: BenchManifest;
  readonly config: BenchmarkConfig;
  readonly dataDir: string;
  readonly out: string;
  readonly niqeParams: NiqeParams;
  readonly total: number;
  /** Filled with each ok run's seconds per output image, by method. */
  readonly perImage: Map<BenchMethod, number[]>;
  readonly log: (line: string) => void;
}

/** The backend before the lock; the PULSE model and ESRGAN under it, only when a pending run needs them. */
async function openBenchmarkSession(inputs: SessionInputs): Promise<RunSession<BenchRun, BenchResultLine>> {
  const { options, manifest, config, log } = inputs;
  const backend = await initBackend(options.backend);
  log(`backend: ${backend.description}`);
  const shardText = shardLabel(options.shard);
  const down = new BicubicDownsampler(config.factor);
  let model: LoadedModel | null = null;
  let esrgan: EsrganUpscaler | null = null;
  let ctx: RunContext | null = null;
  let bar: Progress | null = null;
  const whatOf = (run: BenchRun) => `${run.face.id} ${run.method}${run.method === 'pulse' ? ` seed ${run.seed}` : ''}`;
  return {
    async begin({ mine, todo }) {
      if (todo.some((r) => r.method === 'pulse')) {
        model = await loadModel(config.model!, { gaussianFit: options.gaussianFit });
        const R = model.synthesis.config.resolution;
        if (R !== manifest.size) {
          throw new Error(`${model.source} makes ${R} px faces, but the bench data is ${manifest.size} px; make bench data with --size ${R}`);
        }
        log(`model: ${model.source} (${R} px)`);
      }
      if (todo.some((r) => r.method === 'esrgan')) {
        esrgan = await loadEsrgan({ tile: config.esrgan!.tile });
        log(`esrgan: ${esrgan.description}; x${config.factor} = ${esrgan.plan(config.factor).map((s) => `x${s}`).join(' then ')}`);
      }
      log(
        `benchmark: ${inputs.total} runs (${manifest.faces.length} faces; ${config.methods.join(', ')}; factor ${config.factor}, ` +
          `${manifest.size / config.factor} -> ${manifest.size} px)${shardText ? `; shard ${shardText} has ${mine.length}` : ''}; running ${todo.length}`,
      );
      // The first search and the first ESRGAN pass of a process also set up kernels and buffers
      // (about 1.5x slower); one untimed pass of each keeps that out of the recorded times.
      const lowSide = manifest.size / config.factor;
      if (model) await warmUpPulse(model, lowSide, config.pulse!);
      if (esrgan) await esrgan.upscale({ width: lowSide, height: lowSide, data: new Float32Array(lowSide * lowSide * 3).fill(0.5) }, config.factor);
      bar = createProgress('benchmark', todo.length, '{bar} {value}/{total} runs | {what} | ETA {eta_formatted}', options.quiet);
      ctx = { config, dataDir: inputs.dataDir, out: inputs.out, niqeParams: inputs.niqeParams, down, model, esrgan, shard: shardText, backend: backend.name, faces: new FaceCache(inputs.dataDir, config) };
    },
    execute(run, n) {
      const what = whatOf(run);
      bar?.update(n, { what });
      return executeRun(run, ctx!, (step, total) => bar?.update(n, { what: `${what} step ${step}/${total}` }));
    },
    recorded(run, line, n) {
      if (line.status === 'error') log(`\nerror: ${whatOf(run)}: ${line.error}`);
      else {
        const list = inputs.perImage.get(run.method) ?? [];
        list.push(line.seconds / Math.max(1, line.outputs?.length ?? 1));
        inputs.perImage.set(run.method, list);
      }
      bar?.update(n + 1, { what: whatOf(run) });
    },
    close() {
      bar?.stop();
      down.dispose();
      model?.dispose();
      esrgan?.dispose();
    },
  };
}

interface RunContext {
  readonly config: BenchmarkConfig;
  readonly dataDir: string;
  readonly out: string;
  readonly niqeParams: NiqeParams;
  readonly down: BicubicDownsampler;
  readonly model: LoadedModel | null;
  readonly esrgan: EsrganUpscaler | null;
  readonly shard: string | null;
  readonly backend: string;
  readonly faces: FaceCache;
}

export interface LoadedFace {
  readonly face: BenchFace;
  readonly hr: RgbImage;
  readonly hrBytes: Uint8Array;
  readonly lr: RgbImage;
  hrDescriptor?: Promise<Float32Array | null>;
}

/** The current face's HR, LR (hash-checked) and HR descriptor; runs come face by face. */
class FaceCache {
  private current: { id: string; face: Promise<LoadedFace> } | null = null;
  constructor(
    private readonly dataDir: string,
    private readonly config: BenchmarkConfig,
  ) {}

  get(face: BenchFace): Promise<LoadedFace> {
    if (this.current?.id !== face.id) {
      const load = async (): Promise<LoadedFace> => {
        const hr = await readBenchImage(this.dataDir, face.hr);
        const lr = await readBenchImage(this.dataDir, face.lr[String(this.config.factor)]);
        return { face, hr: hr.image, hrBytes: hr.bytes, lr: lr.image };
      };
      this.current = { id: face.id, face: load() };
    }
    return this.current.face;
  }
}

const sig = (x: number): number => Number(x.toPrecision(6));

function methodDescription(method: BenchMethod, ctx: RunContext): string {
  if (method === 'pulse') return ctx.model!.source;
  if (method === 'hr') return 'the HR face itself (reference)';
  if (method === 'esrgan' && ctx.esrgan) return ctx.esrgan.description;
  if (method === 'bicubic') return bicubicDescription(ctx.config.bicubic);
  return BASELINE_DESCRIPTIONS[method as 'nearest' | 'bicubic' | 'esrgan'];
}

async function executeRun(run: BenchRun, ctx: RunContext, onStep: (step: number, total: number) => void): Promise<BenchResultLine> {
  const { config } = ctx;
  const start = performance.now();
  const lrFile = run.face.lr[String(config.factor)];
  const head = {
    v: BENCH_RESULT_VERSION,
    kind: 'benchmark' as const,
    id: run.id,
    experiment: 'benchmark',
    index: run.index,
    image: run.face.id,
    imagePath: lrFile.file,
    seed: run.seed,
    point: { method: run.method },
    method: run.method,
    options: run.method === 'pulse' ? { ...config.pulse!, seed: run.seed } : null,
    shard: ctx.shard,
    backend: ctx.backend,
    model: methodDescription(run.method, ctx),
    factor: config.factor,
    resolution: config.size,
    lowResolution: config.lowResolution,
  };
  try {
    const face = await ctx.faces.get(run.face);
    const size = config.size;
    let images: RgbImage[];
    let seeds: number[];
    let pulseExtra: { solutions: SolutionResult[]; trace: CompactTrace } | null = null;
    const t0 = performance.now();
    switch (run.method) {
      case 'hr':
        images = [face.hr];
        seeds = [0];
        break;
      case 'nearest':
        images = [upscaleNearest(face.lr, config.factor)];
        seeds = [0];
        break;
      case 'bicubic':
        images = [await upscaleBicubic(face.lr, config.factor, config.bicubic)];
        seeds = [0];
        break;
      case 'esrgan':
        images = [await ctx.esrgan!.upscale(face.lr, config.factor)];
        seeds = [0];
        break;
      case 'pulse': {
        const options = { ...config.pulse!, seed: run.seed };
        const target = tf.tensor4d(face.lr.data, [1, face.lr.height, face.lr.width, 3]);
        let result: PulseResult;
        try {
          result = await runPulse(ctx.model!, target, options, { onStep: (s) => onStep(s.step + 1, options.steps) });
        } finally {
          target.dispose();
        }
        images = Array.from({ length: result.batch }, (_, k) => imageFromNhwc(result.images, k, { width: size, height: size }));
        seeds = [...result.seeds];
        pulseExtra = { solutions: solutionResults(result, options.eps), trace: compactTrace(result) };
        break;
      }
    }
    // The method's own time (for PULSE, the whole search of this run; all its solutions together).
    const seconds = (performance.now() - t0) / 1000;
    const m0 = performance.now();
    const outputs: BenchOutput[] = [];
    for (const [k, image] of images.entries()) {
      if (image.width !== size || image.height !== size) throw new Error(`${run.method} made a ${image.width}x${image.height} image; expected ${size}x${size}`);
      const stem = `${run.face.id}${run.method === 'pulse' ? `_s${run.seed}` : ''}${images.length > 1 ? `_${k + 1}` : ''}`;
      const dir = join(ctx.out, 'images', run.method);
      mkdirSync(dir, { recursive: true });
      const path = join(dir, `${stem}.png`);
      // A run redone after a kill rewrites its own image; no recorded line points at the old one.
      await writePng(path, image, { force: true });
      outputs.push({ image: relative(ctx.out, path), seed: seeds[k], ...(await measureOutput(image, face, ctx)) });
    }
    return {
      ...head,
      status: 'ok',
      seconds,
      metricSeconds: (performance.now() - m0) / 1000,
      finishedAt: new Date().toISOString(),
      outputs,
      ...(pulseExtra ?? {}),
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

function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

/** Every measurement of one output, on its 8-bit form (what the PNG holds). */
export async function measureOutput(
  image: RgbImage,
  face: LoadedFace,
  ctx: Pick<RunContext, 'config' | 'niqeParams' | 'down'>,
): Promise<Omit<BenchOutput, 'image' | 'seed'>> {
  const { config } = ctx;
  const { width, height } = image;
  const bytes = toBytesLikeTorchvision(image.data);
  const asFloat: RgbImage = { width, height, data: Float32Array.from(bytes, (b) => b / 255) };
  // NIQE under the small-image protocol, for every method alike (HR included).
  const up = upscaleForNiqe({ width, height, data: bytes }, config.niqe.minSide);
  let niqeValue: number | null = null;
  let niqeError: string | undefined;
  try {
    niqeValue = niqe(up.data, up.width, up.height, ctx.niqeParams);
  } catch (err) {
    niqeError = err instanceof Error ? err.message : String(err);
  }
  const finite = (x: number) => (Number.isFinite(x) ? x : null);
  const yA = rgbToY(bytes, width, height);
  const yB = rgbToY(face.hrBytes, width, height);
  const lrOut = tf.tidy(() => ctx.down.apply(tf.tensor4d(asFloat.data, [1, height, width, 3])));
  const lrData = (await lrOut.data()) as Float32Array;
  lrOut.dispose();
  const lrMse = mse(lrData, face.lr.data);
  let identity: IdentityResult | null = null;
  let descriptor: number[] | null = null;
  if (config.identity) {
    face.hrDescriptor ??= describe([face.hr]).then((d) => d[0]);
    const hrD = await face.hrDescriptor;
    const srD = bytes.every((b, i) => b === face.hrBytes[i]) ? hrD : (await describe([asFloat]))[0];
    identity = compareIdentity(srD, hrD, config.sameThreshold);
    descriptor = srD ? Array.from(srD, sig) : null;
  }
  return {
    niqe: niqeValue,
    ...(niqeError ? { niqeError } : {}),
    niqeUpscale: up.factor,
    psnr: finite(psnr(bytes, face.hrBytes)),
    psnrY: finite(psnr(yA, yB)),
    ssim: ssim(bytes, face.hrBytes, width, height, 3),
    ssimY: ssimY(bytes, face.hrBytes, width, height),
    lrMse,
    success: lrMse <= config.eps,
    identity,
    descriptor,
  };
}


