/**
 * `pulse bench` (npm run bench): seconds per PULSE step on a random-weight generator of a
 * given size, for BENCHMARKS.md. A benchmark prints numbers; it never fails on them.
 */
import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/select.js';
import { Synthesis } from '../stylegan/synthesis.js';
import { randomSynthesisStateDict } from '../stylegan/init.js';
import { DEFAULT_SYNTHESIS_CONFIG } from '../stylegan/config.js';
import { runPulse } from '../pulse/run.js';
import { resolveOptions } from '../pulse/options.js';
import { gaussian } from '../util/random.js';
import { integerFlag } from './flags.js';

export interface BenchFlags {
  res: number;
  fmapBase: number;
  factor: number;
  batch: number;
  steps: number;
  json?: boolean;
}

export interface BenchResult {
  backend: string;
  res: number;
  fmap_base: number;
  factor: number;
  batch: number;
  steps: number;
  first_step_s: number;
  median_step_s: number;
  mean_step_s: number;
  peak_rss_mb: number;
  peak_tensor_mb: number;
  tensors_before: number;
  tensors_after: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function runBench(o: { res: number; fmapBase: number; factor: number; batch: number; steps: number }): Promise<BenchResult> {
  const backend = await initBackend();
  const cfg = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: o.res, fmapBase: o.fmapBase };
  const synthesis = Synthesis.fromStateDict(randomSynthesisStateDict(cfg, 1, 0.1), 'random weights', cfg);
  const low = o.res / o.factor;
  const fit = { mean: new Float32Array(cfg.dlatentSize), std: new Float32Array(cfg.dlatentSize).fill(1) };
  const target = tf.tidy(() => tf.clipByValue(tf.add(tf.tensor4d(gaussian('bench-target', low * low * 3), [1, low, low, 3]), 0.5), 0, 1) as tf.Tensor4D);
  const tensorsBefore = tf.memory().numTensors;
  const times: number[] = [];
  let last = 0;
  let peakRss = process.memoryUsage().rss;
  let peakTensor = tf.memory().numBytes;
  await runPulse({ synthesis, gaussianFit: fit }, target, resolveOptions({ seed: 1, steps: o.steps, duplicates: o.batch }), {
    onStep: (_s, elapsed) => {
      times.push(elapsed - last);
      last = elapsed;
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      peakTensor = Math.max(peakTensor, tf.memory().numBytes);
      process.stderr.write(`step ${times.length}/${o.steps}: ${(times[times.length - 1]).toFixed(3)} s\n`);
    },
  });
  const tensorsAfter = tf.memory().numTensors;
  // The OS's high-water mark catches the peak inside a step, which sampling between steps misses.
  peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
  target.dispose();
  synthesis.dispose();
  const steady = times.length > 1 ? times.slice(1) : times;
  return {
    backend: backend.name,
    res: o.res,
    fmap_base: o.fmapBase,
    factor: o.factor,
    batch: o.batch,
    steps: o.steps,
    first_step_s: times[0],
    median_step_s: median(steady),
    mean_step_s: steady.reduce((a, b) => a + b, 0) / steady.length,
    peak_rss_mb: peakRss / 2 ** 20,
    peak_tensor_mb: peakTensor / 2 ** 20,
    tensors_before: tensorsBefore,
    tensors_after: tensorsAfter,
  };
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('time PULSE steps on a random-weight generator (median excludes the first, warm-up step)')
    .option('--res <px>', 'generator resolution', integerFlag('res', { min: 4 }), 64)
    .option('--fmap-base <n>', 'StyleGAN fmap_base', integerFlag('fmap-base', { min: 1 }), 8192)
    .option('--factor <k>', 'downscaling factor', integerFlag('factor', { min: 1 }), 8)
    .option('--batch <n>', 'solutions optimised together', integerFlag('batch', { min: 1 }), 1)
    .option('--steps <n>', 'steps to time', integerFlag('steps', { min: 2 }), 5)
    .option('--json', 'print one JSON object on stdout')
    .action(async (flags: BenchFlags) => {
      const r = await runBench({
        res: flags.res,
        fmapBase: flags.fmapBase,
        factor: flags.factor,
        batch: flags.batch,
        steps: flags.steps,
      });
      if (flags.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        process.stdout.write(
          `${r.backend}: ${r.res}px fmap_base ${r.fmap_base} factor ${r.factor} batch ${r.batch}: median ${r.median_step_s.toFixed(3)} s/step ` +
            `(first ${r.first_step_s.toFixed(2)} s), peak RSS ${r.peak_rss_mb.toFixed(0)} MB, tensors ${r.tensors_before} -> ${r.tensors_after}\n`,
        );
      }
    });
}
