/**
 * `pulse upsample <images or folders> --out DIR`: PULSE on each input, with a progress
 * bar, the HR image(s), their downscaled check and a JSON report per input. A bad input
 * is reported and the batch goes on; existing outputs are never overwritten without --force.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendInfo, explainBackendError, initBackend } from '../backend/select.js';
import { type LoadedModel, loadModel, searchStepSize } from '../model/model.js';
import { defaultModelPath } from '../model/default-model.js';
import { type RgbImage, imageFromNhwc, readImage, writePng } from '../io/image.js';
import { factorFor, runPulse, type PulseResult } from '../pulse/run.js';
import type { PulseOptions } from '../pulse/options.js';
import { writeJsonAtomic } from '../util/files.js';
import { addPulseOptions, type PulseFlagValues, pulseOptionsFromFlags } from './options.js';
import { createProgress, formatSeconds } from '../util/progress.js';
import { parseInteger } from './flags.js';
import { alignFaces, bytesToImage, faceRecord } from '../align/align-face.js';
import { BicubicDownsampler, checkFactor } from '../pulse/bicubic.js';
import { backendRequest } from './backend-flag.js';

/** `--align`: an aligned face at the model's resolution is downscaled 8x (the project's benchmark factor). */
export const DEFAULT_ALIGN_FACTOR = 8;

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif', '.bmp', '.avif'];

/** Files as given, folders expanded to their images (sorted, not recursive). */
export function expandInputs(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    if (existsSync(abs) && statSync(abs).isDirectory()) {
      const files = readdirSync(abs)
        .filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase()))
        .sort()
        .map((f) => join(abs, f));
      if (files.length === 0) process.stderr.write(`notice: folder ${abs} holds no images (${IMAGE_EXTENSIONS.join(' ')})\n`);
      out.push(...files);
    } else out.push(abs);
  }
  return out;
}

/** Output file names for one input: solution k of N is NAME_k.png (1-based, as the official code). */
export function outputNames(stem: string, duplicates: number): { hr: string[]; lr: string[]; report: string } {
  const ids = duplicates === 1 ? [stem] : Array.from({ length: duplicates }, (_, k) => `${stem}_${k + 1}`);
  return { hr: ids.map((id) => `${id}.png`), lr: ids.map((id) => `${id}_lr.png`), report: `${stem}.json` };
}

export interface UpsampleOutcome {
  readonly input: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly result?: PulseResult;
}

/** The per-input JSON report. */
export function buildReport(
  input: string,
  files: { hr: string[]; lr: string[] },
  options: PulseOptions,
  result: PulseResult,
  backend: BackendInfo,
  model: LoadedModel,
  notices: string[],
): Record<string, unknown> {
  return {
    input,
    model: model.source,
    backend: backend.name,
    backendDescription: backend.description,
    options,
    resolution: result.resolution,
    lowResolution: result.lowResolution,
    factor: result.factor,
    seconds: result.seconds,
    notices,
    solutions: result.seeds.map((seed, k) => ({
      seed,
      image: files.hr[k],
      downscaled: files.lr[k],
      minMse: result.minMse[k],
      finalMse: result.trace[result.trace.length - 1].mse[k],
      success: result.success[k],
      verdict: result.success[k]
        ? `downscales correctly: MSE ${result.minMse[k].toExponential(3)} <= eps ${options.eps}`
        : `could not find a face that downscales correctly within eps ${options.eps} (best MSE ${result.minMse[k].toExponential(3)})`,
    })),
    trace: result.trace,
  };
}

/**
 * The low-resolution faces of one input: the image itself, or with `align` and an image larger
 * than the model's resolution, every face in it aligned as FFHQ is at the model's resolution
 * (src/align), then downscaled by `alignFactor` with PULSE's own bicubic (as the official
 * align_face.py does), named NAME_faceK. An input at or below the model's resolution is never
 * aligned: it is already the low-resolution face.
 */
async function lowResolutionFaces(
  input: string,
  model: LoadedModel,
  align: { enabled: boolean; factor: number },
): Promise<{ stem: string; image: RgbImage; notices: string[]; alignment?: Record<string, unknown> }[]> {
  const stem = basename(input, extname(input));
  const { image, notices } = await readImage(input);
  for (const n of notices) process.stderr.write(`notice: ${n}\n`);
  const r = model.synthesis.config.resolution;
  if (!align.enabled || Math.max(image.width, image.height) <= r) return [{ stem, image, notices }];
  const faces = await alignFaces(image, { size: r }, input);
  if (faces.length === 0) throw new Error(`${input}: no face found to align`);
  const down = new BicubicDownsampler(align.factor);
  try {
    return await Promise.all(
      faces.map(async (f, k) => {
        const hr = tf.tensor4d(bytesToImage(f.bytes, r).data, [1, r, r, 3]);
        const lr = down.apply(hr);
        const data = (await lr.data()) as Float32Array;
        tf.dispose([hr, lr]);
        const side = r / align.factor;
        return { stem: `${stem}_face${k + 1}`, image: { width: side, height: side, data }, notices, alignment: faceRecord(f, `${stem}_face${k + 1}`) };
      }),
    );
  } finally {
    down.dispose();
  }
}

async function upsampleOne(
  input: string,
  face: { stem: string; image: RgbImage; notices: string[]; alignment?: Record<string, unknown> },
  model: LoadedModel,
  options: PulseOptions,
  outDir: string,
  force: boolean,
  backend: BackendInfo,
  quiet: boolean,
): Promise<UpsampleOutcome> {
  const { stem, image, notices } = face;
  const names = outputNames(stem, options.duplicates);
  const paths = [...names.hr, ...names.lr, names.report].map((n) => join(outDir, n));
  if (!force) {
    const existing = paths.filter((p) => existsSync(p));
    if (existing.length > 0) throw new Error(`${existing[0]} already exists; pass --force to overwrite, or choose another --out`);
  }
  if (image.width !== image.height) {
    throw new Error(`${input} is ${image.width}x${image.height}; PULSE needs a square low-resolution face (crop it first)`);
  }
  factorFor(model.synthesis.config.resolution, image.width, input);
  const target = tf.tensor4d(image.data, [1, image.height, image.width, 3]);
  const bar = createProgress(basename(input), options.steps, '{bar} step {value}/{total} | L2 {l2} (eps {eps}) | left {left}', quiet);
  let result: PulseResult;
  try {
    result = await runPulse(model, target, options, {
      onStep: (s, elapsed) => {
        const left = (elapsed / (s.step + 1)) * (options.steps - s.step - 1);
        bar.update(s.step + 1, { l2: Math.min(...s.mse).toExponential(2), eps: options.eps, left: formatSeconds(left) });
      },
    });
  } finally {
    bar.stop();
    target.dispose();
  }
  const size = { width: result.resolution, height: result.resolution };
  const lowSize = { width: result.lowResolution, height: result.lowResolution };
  for (let k = 0; k < result.batch; k++) {
    await writePng(join(outDir, names.hr[k]), imageFromNhwc(result.images, k, size), { force });
    await writePng(join(outDir, names.lr[k]), imageFromNhwc(result.downscaled, k, lowSize), { force });
  }
  const report = buildReport(input, names, options, result, backend, model, notices);
  writeJsonAtomic(join(outDir, names.report), face.alignment ? { ...report, alignment: face.alignment } : report, force);
  result.success.forEach((ok, k) => {
    const msg = ok
      ? `${names.hr[k]}: downscales correctly (MSE ${result.minMse[k].toExponential(2)} <= ${options.eps}) in ${result.seconds.toFixed(1)} s`
      : `${names.hr[k]}: could not find a face that downscales correctly within eps ${options.eps} (best MSE ${result.minMse[k].toExponential(2)}); saved anyway`;
    process.stderr.write(`${msg}\n`);
  });
  return { input, ok: true, result };
}

export interface UpsampleFlags extends PulseFlagValues {
  /** Backend request (default: $PULSE_BACKEND or auto); the CLI passes --backend. */
  backend?: string;
  model?: string;
  gaussianFit?: string;
  out: string;
  force?: boolean;
  quiet?: boolean;
  align?: boolean;
  alignFactor?: string;
}

export async function upsample(inputs: string[], flags: UpsampleFlags): Promise<UpsampleOutcome[]> {
  const options = pulseOptionsFromFlags(flags);
  const modelPath = flags.model ?? defaultModelPath();
  const backend = await initBackend(flags.backend, { stepSize: searchStepSize(modelPath, options.duplicates) });
  process.stderr.write(`backend: ${backend.description}\n`);
  const model = await loadModel(modelPath, { gaussianFit: flags.gaussianFit });
  process.stderr.write(`model: ${model.source} (${model.synthesis.config.resolution} px); seed ${options.seed}\n`);
  const outDir = resolve(flags.out);
  mkdirSync(outDir, { recursive: true });
  const outcomes: UpsampleOutcome[] = [];
  try {
    const alignFactor = parseInteger('align-factor', flags.alignFactor ?? String(DEFAULT_ALIGN_FACTOR), { min: 1 });
    if (flags.align) checkFactor(alignFactor);
    for (const input of expandInputs(inputs)) {
      try {
        const faces = await lowResolutionFaces(input, model, { enabled: flags.align ?? false, factor: alignFactor });
        for (const face of faces) {
          outcomes.push(await upsampleOne(input, face, model, options, outDir, flags.force ?? false, backend, flags.quiet ?? false));
        }
      } catch (err) {
        const error = explainBackendError(err).message;
        process.stderr.write(`error: ${error}\n`);
        outcomes.push({ input, ok: false, error });
      }
    }
  } finally {
    model.dispose();
  }
  return outcomes;
}

export function registerUpsample(program: Command): void {
  const cmd = program
    .command('upsample')
    .description('super-resolve low-resolution faces with PULSE')
    .argument('<inputs...>', 'images or folders of images (any format sharp reads)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--model <path>', 'model directory (model.json) or synthesis .pt checkpoint (default: the built-in model)')
    .option('--gaussian-fit <file>', 'Gaussian fit .pt for a PyTorch checkpoint without one')
    .option('--force', 'overwrite existing outputs')
    .option('--quiet', 'no progress bar')
    .option('--align', "find and align (FFHQ protocol) every face of an input larger than the model's resolution first; each face becomes NAME_faceK")
    .option('--align-factor <f>', `with --align: the aligned face is downscaled by this power of 2 before PULSE`, String(DEFAULT_ALIGN_FACTOR));
  addPulseOptions(cmd).action(async (inputs: string[], flags: UpsampleFlags, command: Command) => {
    const outcomes = await upsample(inputs, { ...flags, backend: backendRequest(command) });
    const failed = outcomes.filter((o) => !o.ok);
    const done = outcomes.length - failed.length;
    process.stderr.write(`${done} of ${outcomes.length} input(s) upsampled into ${resolve(flags.out)}${failed.length ? `; ${failed.length} failed` : ''}\n`);
    process.exitCode = failed.length > 0 ? 1 : 0;
  });
}

export type { RgbImage };
