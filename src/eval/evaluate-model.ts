/**
 * Three measurements of a PULSE generator (used by `pulse eval-model`):
 *
 * 1. measureDetectionRate: the share of random samples in which the face detector finds a face
 *    (target: at least 90%).
 * 2. measurePulse: PULSE with its default settings on `dev` faces of LFW, each cropped with
 *    LFW_CROP, resized to the model's side, and downscaled 8x with PULSE's own
 *    BicubicDownsampler: the share that meets eps, and the median of each face's smallest MSE.
 * 3. measureIdentityFrechet: the Frechet distance between the 128-d face descriptors of random
 *    samples and of real dev faces (prepared as in 2, at the model's side), beside the same
 *    distance between two identity-disjoint halves of those real faces (the floor; the
 *    generated set is also compared with one half at the halves' size, since the distance is
 *    biased upwards by small sets). Images where no face is found are excluded and counted.
 *
 * Random samples: sample i of seed s is face s + i of sampleFaces (src/model/sample.ts): z from
 * that seed, w = mapping(z) broadcast to every layer (no truncation), seeded noise at every
 * layer, the image (G + 1) / 2 clamped to [0, 1]. A sample does not depend on the batch it was
 * generated in, so measurements 1 and 3 see the same images for the same indices.
 */
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { cropAndResize, LFW_CROP } from '../data/crop.js';
import { type FaceEntry, listFaces } from '../data/face-folder.js';
import { alignedFaces } from '../data/aligned-faces.js';
import type { RgbImage } from '../io/image.js';
import type { LoadedModel } from '../model/model.js';
import { BicubicDownsampler } from '../pulse/bicubic.js';
import { type PulseOptions, resolveOptions } from '../pulse/options.js';
import { factorFor, runPulse } from '../pulse/run.js';
import { sampleFaces } from '../model/sample.js';
import { median } from '../util/stats.js';
import { type FaceAnalysis, type FaceProtocol, FACE_PROTOCOL, analyzeFaces } from './face-analysis.js';
import { type FrechetResult, frechetDistance } from './frechet.js';
import { type DiversityComparison, compareDiversity, meanPairwiseDistance } from './diversity.js';
import { type PrecisionRecall, PRECISION_RECALL_K, precisionRecall } from './precision-recall.js';

/** Share of samples with a detected face that the issue asks for. */
export const DETECTION_TARGET = 0.9;

/** Called as work advances: `done` of `total` units (images, faces). */
export type ProgressCallback = (done: number, total: number, fields?: Record<string, string | number>) => void;

// ---------------------------------------------------------------------------------------------
// Random samples

/**
 * Samples `start .. start+count-1` of `seed`, as images in [0, 1]: sample i is face `seed + i`
 * of src/model/sample.ts sampleFaces (so `pulse demo`-style tools can redraw any one of them).
 */
export async function generateSamples(model: LoadedModel, start: number, count: number, seed: number): Promise<RgbImage[]> {
  const r = model.synthesis.config.resolution;
  const seeds = Array.from({ length: count }, (_, i) => seed + start + i);
  const data = await sampleFaces(model, seeds);
  const size = r * r * 3;
  return seeds.map((_, i) => ({ width: r, height: r, data: data.slice(i * size, (i + 1) * size) }));
}

export interface SampleAnalysis {
  /** Per sample, in order: detection and (where a face was found) its descriptor. */
  readonly analyses: readonly FaceAnalysis[];
  readonly seed: number;
  readonly generateSeconds: number;
  readonly analyzeSeconds: number;
}

export interface SampleAnalysisOptions {
  readonly count: number;
  readonly seed: number;
  /** Samples generated per synthesis pass (default 16). */
  readonly batchSize?: number;
  /** Also compute descriptors (default true; detection alone saves ~15%). */
  readonly descriptors?: boolean;
  readonly protocol?: FaceProtocol;
  readonly onProgress?: ProgressCallback;
}

/** Generates `count` samples in batches and runs the face analysis on each (images are not kept). */
export async function analyzeSamples(model: LoadedModel, options: SampleAnalysisOptions): Promise<SampleAnalysis> {
  const { count, seed } = options;
  const batchSize = options.batchSize ?? 16;
  if (!Number.isInteger(count) || count < 0) throw new Error(`sample count ${count} must be an integer >= 0`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`sample batch size ${batchSize} must be a positive integer`);
  const analyses: FaceAnalysis[] = [];
  let generateSeconds = 0;
  let analyzeSeconds = 0;
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    let t = performance.now();
    const images = await generateSamples(model, start, n, seed);
    generateSeconds += (performance.now() - t) / 1000;
    t = performance.now();
    const done = analyses.length;
    analyses.push(
      ...(await analyzeFaces(images, {
        descriptors: options.descriptors ?? true,
        protocol: options.protocol,
        onImage: (k) => options.onProgress?.(done + k, count),
      })),
    );
    analyzeSeconds += (performance.now() - t) / 1000;
  }
  return { analyses, seed, generateSeconds, analyzeSeconds };
}

// ---------------------------------------------------------------------------------------------
// 1. Detection rate

export interface DetectionRateResult {
  readonly samples: number;
  readonly seed: number;
  readonly detected: number;
  /** detected / samples. */
  readonly rate: number;
  readonly target: number;
  readonly meetsTarget: boolean;
  readonly minConfidence: number;
  /** Median of the best detection score per sample (0 where nothing scored above the floor). */
  readonly medianScore: number;
  /** Per sample, in order. */
  readonly scores: readonly number[];
  readonly seconds: number;
}

export interface DetectionRateOptions extends Omit<SampleAnalysisOptions, 'count' | 'descriptors'> {
  readonly samples: number;
  /** Reuse an analysis of at least `samples` samples of the same seed (e.g. the one measureIdentityFrechet made). */
  readonly analysis?: SampleAnalysis;
}

/** Measurement 1: the share of random samples in which a face is detected. */
export async function measureDetectionRate(model: LoadedModel, options: DetectionRateOptions): Promise<DetectionRateResult> {
  const t = performance.now();
  const reuse = options.analysis && options.analysis.seed === options.seed && options.analysis.analyses.length >= options.samples;
  const analysis = reuse ? options.analysis! : await analyzeSamples(model, { ...options, count: options.samples, descriptors: false });
  const used = analysis.analyses.slice(0, options.samples);
  const detected = used.filter((a) => a.found).length;
  const rate = used.length > 0 ? detected / used.length : NaN;
  const scores = used.map((a) => a.score);
  return {
    samples: used.length,
    seed: options.seed,
    detected,
    rate,
    target: DETECTION_TARGET,
    meetsTarget: rate >= DETECTION_TARGET,
    minConfidence: (options.protocol ?? FACE_PROTOCOL).minConfidence,
    medianScore: median(scores),
    scores,
    seconds: reuse ? ((analysis.generateSeconds + analysis.analyzeSeconds) * used.length) / analysis.analyses.length : (performance.now() - t) / 1000,
  };
}

// ---------------------------------------------------------------------------------------------
// Real faces

/**
 * How real dev faces are prepared to meet a model's samples: the documented LFW crop (the
 * v1 default model's convention), or the FFHQ alignment of src/align (models trained with
 * `--crop ffhq`, and the published FFHQ model).
 */
export type RealFaceConvention = 'lfw-crop' | 'ffhq';

/** The convention a model was trained in, from its metadata (`data.crop`); LFW crop when unknown. */
export function conventionOf(metadata: Record<string, unknown>): RealFaceConvention {
  const data = metadata.data as { crop?: unknown } | undefined;
  return data?.crop === 'ffhq' ? 'ffhq' : 'lfw-crop';
}

/** The first `count` dev faces of an LFW-style dataset (sorted by file name). */
export async function devFaces(datasetDir: string, count: number): Promise<FaceEntry[]> {
  const all = await listFaces(datasetDir, { split: 'dev' });
  if (all.length < count) throw new Error(`${datasetDir} has ${all.length} dev faces; ${count} were asked for`);
  return all.slice(0, count);
}

/** A dev face as the v1 model sees it: LFW_CROP, resized (lanczos3) to the model's side. */
export function loadRealFace(entry: FaceEntry, resolution: number): Promise<RgbImage> {
  return cropAndResize(entry.path, LFW_CROP, resolution);
}

export interface RealFace {
  readonly entry: FaceEntry;
  readonly image: RgbImage;
}

/**
 * The first `count` dev faces (by file name) in a convention, at the model's side. In the FFHQ
 * alignment, photos where no face is found are left out (the dataset cache lists them), so
 * the first `count` aligned ones are used.
 */
export async function realDevFaces(
  datasetDir: string,
  count: number,
  resolution: number,
  convention: RealFaceConvention,
  onAlignProgress?: ProgressCallback,
): Promise<RealFace[]> {
  if (convention === 'lfw-crop') {
    const entries = await devFaces(datasetDir, count);
    return Promise.all(entries.map(async (entry) => ({ entry, image: await loadRealFace(entry, resolution) })));
  }
  const all = await listFaces(datasetDir, { split: 'dev' });
  const byPath = new Map(all.map((e) => [resolve(e.path), e]));
  // The first use on a machine aligns every dev photo (about a minute), hence the progress.
  const cache = await alignedFaces(datasetDir, 'dev', resolution, { warn: () => {}, onProgress: (d, t) => onAlignProgress?.(d, t) });
  const order = cache.files.map((f, i) => ({ f: resolve(f), i })).sort((a, b) => (a.f < b.f ? -1 : a.f > b.f ? 1 : 0));
  if (order.length < count) throw new Error(`${datasetDir} has ${order.length} dev faces in the FFHQ alignment (${cache.header.skipped.length} without a face); ${count} were asked for`);
  const px = resolution * resolution * 3;
  return order.slice(0, count).map(({ f, i }) => ({
    entry: byPath.get(f) ?? { path: f },
    image: { width: resolution, height: resolution, data: Float32Array.from(cache.pixels.subarray(i * px, (i + 1) * px), (v) => v / 255) },
  }));
}

// ---------------------------------------------------------------------------------------------
// 2. PULSE on dev faces

export interface PulseFaceOutcome {
  readonly file: string;
  readonly identity?: string;
  /** Smallest per-step MSE of the downscaled output against the low-res target. */
  readonly minMse: number;
  /** MSE at the last step. */
  readonly finalMse: number;
  readonly success: boolean;
  /** With several solutions per face: the mean pairwise descriptor distance among them (null if fewer than 2 had a detectable face). */
  readonly solutionDiversity?: number | null;
}

export interface PulseEvalResult {
  readonly faces: number;
  readonly factor: number;
  readonly resolution: number;
  readonly lowResolution: number;
  readonly options: PulseOptions;
  readonly succeeded: number;
  /** succeeded / faces: the share whose best MSE met eps. */
  readonly successRate: number;
  /** Median over faces of the smallest MSE (the "final L2" of the official code, per image). */
  readonly medianMinMse: number;
  readonly meanMinMse: number;
  /**
   * With duplicates > 1: how different the solutions of one face are (median over faces of
   * their mean pairwise descriptor distance; same person ~0.5, different people ~0.8).
   */
  readonly solutionDiversity: { readonly median: number; readonly mean: number; readonly faces: number } | null;
  readonly perFace: readonly PulseFaceOutcome[];
  readonly batchSize: number;
  readonly seconds: number;
  readonly secondsPerFace: number;
}

export interface PulseEvalOptions {
  readonly datasetDir: string;
  /** How the dev faces are prepared (default: the LFW crop). */
  readonly convention?: RealFaceConvention;
  readonly faces: number;
  readonly seed: number;
  /** Overrides of the PULSE defaults (e.g. fewer steps for a quick look). */
  readonly pulse?: Partial<Omit<PulseOptions, 'seed'>>;
  /** Downscaling factor (default 8). */
  readonly factor?: number;
  /** Targets optimised together (default 8). */
  readonly batchSize?: number;
  readonly onProgress?: ProgressCallback;
  /** Progress of aligning the dev photos, the first time (FFHQ convention). */
  readonly onAlignProgress?: ProgressCallback;
}

/** Measurement 2: PULSE on `faces` dev faces downscaled `factor`x; share within eps, median best MSE. */
export async function measurePulse(model: LoadedModel, options: PulseEvalOptions): Promise<PulseEvalResult> {
  const t0 = performance.now();
  const resolution = model.synthesis.config.resolution;
  const factor = options.factor ?? 8;
  const batchSize = options.batchSize ?? 8;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`PULSE batch size ${batchSize} must be a positive integer`);
  if (resolution % factor !== 0) throw new Error(`the model's ${resolution} px side is not divisible by the factor ${factor}`);
  const lowResolution = resolution / factor;
  factorFor(resolution, lowResolution, `a ${factor}x downscaled face`);
  const pulseOptions = resolveOptions({ ...options.pulse, seed: options.seed });
  const faces = await realDevFaces(options.datasetDir, options.faces, resolution, options.convention ?? 'lfw-crop', options.onAlignProgress);
  const entries = faces.map((f) => f.entry);
  const down = new BicubicDownsampler(factor);
  const perFace: PulseFaceOutcome[] = [];
  try {
    for (let start = 0; start < entries.length; start += batchSize) {
      const batch = entries.slice(start, start + batchSize);
      const images = faces.slice(start, start + batchSize).map((f) => f.image);
      const hr = new Float32Array(batch.length * resolution * resolution * 3);
      images.forEach((im, k) => hr.set(im.data, k * im.data.length));
      const target = tf.tidy(() => down.apply(tf.tensor4d(hr, [batch.length, resolution, resolution, 3])));
      try {
        const result = await runPulse(model, target, pulseOptions, {
          onStep: (s) =>
            options.onProgress?.(start + ((s.step + 1) / pulseOptions.steps) * batch.length, entries.length, {
              step: `${s.step + 1}/${pulseOptions.steps}`,
            }),
        });
        const last = result.trace[result.trace.length - 1];
        const diversity = pulseOptions.duplicates > 1 ? await solutionDiversities(result.images, resolution, batch.length, pulseOptions.duplicates) : null;
        batch.forEach((e, k) => {
          // With duplicates > 1, a face counts as solved when any of its solutions is.
          const ks = Array.from({ length: pulseOptions.duplicates }, (_, d) => k * pulseOptions.duplicates + d);
          const best = ks.reduce((a, b) => (result.minMse[b] < result.minMse[a] ? b : a));
          perFace.push({
            file: e.path,
            ...(e.identity ? { identity: e.identity } : {}),
            minMse: result.minMse[best],
            finalMse: last.mse[best],
            success: ks.some((j) => result.success[j]),
            ...(diversity ? { solutionDiversity: diversity[k] } : {}),
          });
        });
      } finally {
        target.dispose();
      }
      options.onProgress?.(perFace.length, entries.length, { step: 'done' });
    }
  } finally {
    down.dispose();
  }
  const succeeded = perFace.filter((f) => f.success).length;
  const mses = perFace.map((f) => f.minMse);
  const divs = perFace.map((f) => f.solutionDiversity).filter((d): d is number => typeof d === 'number');
  const seconds = (performance.now() - t0) / 1000;
  return {
    faces: perFace.length,
    factor,
    resolution,
    lowResolution,
    options: pulseOptions,
    succeeded,
    successRate: perFace.length ? succeeded / perFace.length : NaN,
    medianMinMse: median(mses),
    meanMinMse: mses.length ? mses.reduce((a, b) => a + b, 0) / mses.length : NaN,
    solutionDiversity: divs.length ? { median: median(divs), mean: divs.reduce((a, b) => a + b, 0) / divs.length, faces: divs.length } : null,
    perFace,
    batchSize,
    seconds,
    secondsPerFace: perFace.length ? seconds / perFace.length : NaN,
  };
}

/** Per face of a PULSE batch (solutions of face k at k*duplicates ...): the mean pairwise descriptor distance of its solutions. */
async function solutionDiversities(images: Float32Array, resolution: number, faces: number, duplicates: number): Promise<(number | null)[]> {
  const size = resolution * resolution * 3;
  const out: (number | null)[] = [];
  for (let k = 0; k < faces; k++) {
    const solutions: RgbImage[] = Array.from({ length: duplicates }, (_, d) => ({
      width: resolution,
      height: resolution,
      data: images.slice((k * duplicates + d) * size, (k * duplicates + d + 1) * size).map((v) => Math.min(1, Math.max(0, v))),
    }));
    const analyses = await analyzeFaces(solutions, { descriptors: true });
    out.push(meanPairwiseDistance(analyses.filter((a) => a.found && a.descriptor).map((a) => a.descriptor!)));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// 3. Frechet distance of identity descriptors

export interface DescriptorSetSummary {
  /** Images analysed. */
  readonly images: number;
  /** Images with a face found (their descriptors are used). */
  readonly described: number;
  /** Images without a detectable face (excluded). */
  readonly noFace: number;
}

/** A Frechet distance, or why there is none (fewer than 2 descriptors on a side). */
export type MaybeFrechet = (FrechetResult & { readonly note?: undefined }) | { readonly distance: null; readonly note: string };

export interface IdentityFrechetResult {
  readonly seed: number;
  readonly generated: DescriptorSetSummary;
  readonly real: DescriptorSetSummary & { readonly identities: number };
  /** Generated vs real (all described images of each). */
  readonly frechet: MaybeFrechet;
  /** The real faces split by identity into halves A and B (no person in both). */
  readonly halves: { readonly a: number; readonly b: number; readonly identitiesA: number; readonly identitiesB: number };
  /** Real half A vs real half B: what two samples of real faces score (the floor). */
  readonly floor: MaybeFrechet;
  /** The first |A| generated descriptors vs half B: comparable with the floor (same sizes). */
  readonly generatedVsHalf: MaybeFrechet;
  /** Mean pairwise descriptor distance of the samples beside that of the real faces (the collapse measure). */
  readonly diversity: DiversityComparison;
  /**
   * Precision (samples inside the real faces' descriptor manifold) and recall (real faces inside
   * the samples'), src/eval/precision-recall.ts, at the halves' sizes: the first |A| samples vs
   * half B, beside half A vs half B (what real faces score). Null where a set has <= k faces.
   */
  readonly precisionRecall: { readonly generatedVsHalf: PrecisionRecall | null; readonly realHalves: PrecisionRecall | null };
  readonly seconds: { readonly generate: number; readonly analyzeGenerated: number; readonly analyzeReal: number; readonly total: number };
}

export interface IdentityFrechetOptions extends Omit<SampleAnalysisOptions, 'count' | 'descriptors'> {
  readonly samples: number;
  readonly realFaces: number;
  readonly datasetDir: string;
  /** How the dev faces are prepared (default: the LFW crop). */
  readonly convention?: RealFaceConvention;
  /** Reuse an analysis (with descriptors) of at least `samples` samples of the same seed. */
  readonly analysis?: SampleAnalysis;
  /** Progress over the real faces (onProgress covers the samples). */
  readonly onRealProgress?: ProgressCallback;
  /** Progress of aligning the dev photos, the first time (FFHQ convention). */
  readonly onAlignProgress?: ProgressCallback;
}

function maybePrecisionRecall(generated: readonly Float32Array[], real: readonly Float32Array[]): PrecisionRecall | null {
  return generated.length > PRECISION_RECALL_K && real.length > PRECISION_RECALL_K ? precisionRecall(generated, real) : null;
}

function maybeFrechet(x: readonly Float32Array[], y: readonly Float32Array[]): MaybeFrechet {
  if (x.length < 2 || y.length < 2) return { distance: null, note: `needs at least 2 descriptors per set; got ${x.length} and ${y.length}` };
  return frechetDistance(x, y);
}

/**
 * Splits items into two halves by identity: identities in sorted order go, whole, to whichever
 * half has fewer items so far (ties to A). Items without an identity count as their own person.
 */
export function splitByIdentity<T extends { identity?: string; key: string }>(items: readonly T[]): [T[], T[]] {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const id = it.identity ?? `file:${it.key}`;
    if (!groups.has(id)) groups.set(id, []);
    groups.get(id)!.push(it);
  }
  const a: T[] = [];
  const b: T[] = [];
  for (const id of [...groups.keys()].sort()) (a.length <= b.length ? a : b).push(...groups.get(id)!);
  return [a, b];
}

/** Measurement 3: Frechet distance of face descriptors, generated vs real dev faces, with the real-vs-real floor. */
export async function measureIdentityFrechet(model: LoadedModel, options: IdentityFrechetOptions): Promise<IdentityFrechetResult> {
  const t0 = performance.now();
  const reuse = options.analysis && options.analysis.seed === options.seed && options.analysis.analyses.length >= options.samples && options.analysis.analyses.slice(0, options.samples).every((a) => !a.found || a.descriptor);
  const analysis = reuse ? options.analysis! : await analyzeSamples(model, { ...options, count: options.samples, descriptors: true });
  const gen = analysis.analyses.slice(0, options.samples);
  const genDesc = gen.filter((a) => a.found && a.descriptor).map((a) => a.descriptor!);

  const resolution = model.synthesis.config.resolution;
  const t1 = performance.now();
  const faces = await realDevFaces(options.datasetDir, options.realFaces, resolution, options.convention ?? 'lfw-crop', options.onAlignProgress);
  const entries = faces.map((f) => f.entry);
  const real: { identity?: string; key: string; descriptor: Float32Array }[] = [];
  let noFace = 0;
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k];
    const [a] = await analyzeFaces([faces[k].image], { descriptors: true, protocol: options.protocol });
    if (a.found && a.descriptor) real.push({ identity: e.identity, key: e.path, descriptor: a.descriptor });
    else noFace++;
    options.onRealProgress?.(k + 1, entries.length);
  }
  const analyzeReal = (performance.now() - t1) / 1000;
  const realDesc = real.map((r) => r.descriptor);
  const [ha, hb] = splitByIdentity(real);
  const ids = (xs: readonly { identity?: string; key: string }[]) => new Set(xs.map((x) => x.identity ?? x.key)).size;
  const share = reuse ? gen.length / analysis.analyses.length : 1;
  return {
    seed: options.seed,
    generated: { images: gen.length, described: genDesc.length, noFace: gen.length - genDesc.length },
    real: { images: entries.length, described: real.length, noFace, identities: ids(real) },
    frechet: maybeFrechet(genDesc, realDesc),
    halves: { a: ha.length, b: hb.length, identitiesA: ids(ha), identitiesB: ids(hb) },
    floor: maybeFrechet(
      ha.map((r) => r.descriptor),
      hb.map((r) => r.descriptor),
    ),
    generatedVsHalf: maybeFrechet(
      genDesc.slice(0, ha.length),
      hb.map((r) => r.descriptor),
    ),
    diversity: compareDiversity(genDesc, realDesc),
    precisionRecall: {
      generatedVsHalf: maybePrecisionRecall(
        genDesc.slice(0, ha.length),
        hb.map((r) => r.descriptor),
      ),
      realHalves: maybePrecisionRecall(
        ha.map((r) => r.descriptor),
        hb.map((r) => r.descriptor),
      ),
    },
    seconds: {
      generate: analysis.generateSeconds * share,
      analyzeGenerated: analysis.analyzeSeconds * share,
      analyzeReal,
      total: (performance.now() - t0) / 1000 + (reuse ? (analysis.generateSeconds + analysis.analyzeSeconds) * share : 0),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// All three

export interface EvaluateModelOptions {
  /** Random samples for the detection rate (0 skips it). Issue: 256. */
  readonly samples: number;
  /** Dev faces for PULSE (0 skips it). Issue: 100. */
  readonly pulseFaces: number;
  /** Random samples for the Frechet distance (0 skips it). Issue: 500. */
  readonly fidSamples: number;
  /** Real dev faces for the Frechet distance (default: fidSamples). */
  readonly realFaces?: number;
  /** An LFW-style dataset folder (manifest.csv with a dev split). */
  readonly datasetDir: string;
  /** How the dev faces are prepared (default: the model's own convention, conventionOf). */
  readonly convention?: RealFaceConvention;
  /** Seed of the random samples and of PULSE. */
  readonly seed: number;
  readonly pulse?: Partial<Omit<PulseOptions, 'seed'>>;
  readonly pulseBatchSize?: number;
  readonly sampleBatchSize?: number;
  readonly protocol?: FaceProtocol;
  readonly onProgress?: (stage: 'samples' | 'align' | 'real' | 'pulse', done: number, total: number, fields?: Record<string, string | number>) => void;
}

export interface ModelEvaluation {
  readonly detection: DetectionRateResult | null;
  readonly pulse: PulseEvalResult | null;
  readonly identity: IdentityFrechetResult | null;
  readonly seconds: number;
}

/**
 * Runs the three measurements. The random samples are generated and analysed once (with
 * descriptors when the Frechet distance is wanted) and shared by measurements 1 and 3.
 */
export async function evaluateModel(model: LoadedModel, options: EvaluateModelOptions): Promise<ModelEvaluation> {
  const t0 = performance.now();
  for (const [name, v] of Object.entries({ samples: options.samples, pulseFaces: options.pulseFaces, fidSamples: options.fidSamples, realFaces: options.realFaces ?? 0 })) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${name}=${v} must be an integer >= 0`);
  }
  const count = Math.max(options.samples, options.fidSamples);
  const analysis =
    count > 0
      ? await analyzeSamples(model, {
          count,
          seed: options.seed,
          batchSize: options.sampleBatchSize,
          descriptors: options.fidSamples > 0,
          protocol: options.protocol,
          onProgress: (d, t) => options.onProgress?.('samples', d, t),
        })
      : undefined;
  const detection =
    options.samples > 0 ? await measureDetectionRate(model, { samples: options.samples, seed: options.seed, protocol: options.protocol, analysis }) : null;
  const identity =
    options.fidSamples > 0
      ? await measureIdentityFrechet(model, {
          samples: options.fidSamples,
          realFaces: options.realFaces ?? options.fidSamples,
          datasetDir: options.datasetDir,
          convention: options.convention ?? conventionOf(model.metadata),
          seed: options.seed,
          protocol: options.protocol,
          analysis,
          onRealProgress: (d, t) => options.onProgress?.('real', d, t),
          onAlignProgress: (d, t) => options.onProgress?.('align', d, t),
        })
      : null;
  const pulse =
    options.pulseFaces > 0
      ? await measurePulse(model, {
          datasetDir: options.datasetDir,
          convention: options.convention ?? conventionOf(model.metadata),
          faces: options.pulseFaces,
          seed: options.seed,
          pulse: options.pulse,
          batchSize: options.pulseBatchSize,
          onProgress: (d, t, f) => options.onProgress?.('pulse', d, t, f),
          onAlignProgress: (d, t) => options.onProgress?.('align', d, t),
        })
      : null;
  return { detection, pulse, identity, seconds: (performance.now() - t0) / 1000 };
}
