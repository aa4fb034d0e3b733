/** One benchmark run: a method's output(s) for one face and seed, saved as PNGs and measured, as one result line. */
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type CompactTrace, type SolutionResult, compactTrace, solutionResults } from '../experiments/results.js';
import { type RgbImage, imageFromNhwc, writePng } from '../io/image.js';
import type { LoadedModel } from '../model/model.js';
import { type PulseResult, runPulse } from '../pulse/run.js';
import { BASELINE_DESCRIPTIONS, type EsrganUpscaler, bicubicDescription, upscaleBicubic, upscaleNearest } from './baselines.js';
import type { FaceCache } from './face-cache.js';
import { type MeasureContext, measureOutput } from './measure-output.js';
import type { BenchMethod } from './methods.js';
import type { BenchRun } from './plan.js';
import { BENCH_RESULT_VERSION, type BenchOutput, type BenchResultLine } from './result-line.js';

/** What every run of a session shares. */
export interface RunContext extends MeasureContext {
  readonly dataDir: string;
  readonly out: string;
  readonly model: LoadedModel | null;
  readonly esrgan: EsrganUpscaler | null;
  readonly shard: string | null;
  readonly backend: string;
  readonly faces: FaceCache;
}

function methodDescription(method: BenchMethod, ctx: RunContext): string {
  if (method === 'pulse') return ctx.model!.source;
  if (method === 'hr') return 'the HR face itself (reference)';
  if (method === 'esrgan' && ctx.esrgan) return ctx.esrgan.description;
  if (method === 'bicubic') return bicubicDescription(ctx.config.bicubic);
  return BASELINE_DESCRIPTIONS[method as 'nearest' | 'bicubic' | 'esrgan'];
}

/** Runs `run` and measures its outputs; never throws: a failure is recorded as an error line. */
export async function executeRun(run: BenchRun, ctx: RunContext, onStep: (step: number, total: number) => void): Promise<BenchResultLine> {
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
