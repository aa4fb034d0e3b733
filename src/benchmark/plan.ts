/**
 * The runs of a benchmark, in a fixed order (for each face, each method, each seed; see
 * src/benchmark/runner.ts), each with an id that hashes what it computes.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../experiments/config.js';
import type { BenchFace, BenchManifest } from './bench-data.js';
import type { BenchmarkConfig } from './benchmark-config.js';
import type { BenchMethod } from './methods.js';
import { BENCH_RESULT_VERSION } from './result-line.js';

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
        // Only runs without NIQE carry this (ids with NIQE stay what they were): a later run that has
        // the model measures them again rather than reusing their empty NIQE.
        ...(config.niqe.params === null ? { niqe: 'not measured' } : {}),
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
