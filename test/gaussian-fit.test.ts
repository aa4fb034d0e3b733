/**
 * The Gaussian fit of LeakyReLU_5(mapping(z)): streamed moments against a one-pass float64
 * reference, batch-size independence, the recorded official fit of p64, and seeding.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamingMoments, fitGaussian, fitGaussianOn } from '../src/pulse/gaussian-fit.js';
import { Mapping } from '../src/stylegan/mapping.js';
import { randomMappingStateDict } from '../src/stylegan/random-weights.js';
import { readNpy } from '../src/io/npy.js';
import { loadTorchCheckpoint } from '../src/io/torch-checkpoint.js';
import { maxAbs, maxAbsErrorRatio } from '../src/parity/check.js';
import { useTestBackend } from './helpers/backend.js';
import { HAVE_SHARED_PARITY, caseDir, needsShared } from './helpers/paths.js';

let mapping: Mapping;
let z: { shape: number[]; data: Float32Array };
/** max |LeakyReLU_5(w)| over the recorded samples: the scale the fit is measured on. */
let scale: number;

beforeAll(async () => {
  await useTestBackend();
  if (!HAVE_SHARED_PARITY) return;
  const dir = caseDir('p64');
  mapping = Mapping.fromStateDict(await loadTorchCheckpoint(join(dir, 'mapping.pt')), 'mapping.pt');
  z = readNpy(join(dir, 'mapping_z.npy'));
  scale = maxAbs(readNpy(join(dir, 'mapping_w.npy')).data.map((v) => (v < 0 ? 5 * v : v)));
});

afterAll(() => {
  mapping?.dispose();
});

function values(count: number, seed: number, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(count);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + (hi - lo) * (s / 2 ** 32);
  }
  return out;
}

/** float64 mean and M2 of rows [n, dims]. */
function moments(rows: Float64Array, n: number, dims: number): { mean: Float64Array; m2: Float64Array } {
  const mean = new Float64Array(dims);
  const m2 = new Float64Array(dims);
  for (let r = 0; r < n; r++) for (let d = 0; d < dims; d++) mean[d] += rows[r * dims + d] / n;
  for (let r = 0; r < n; r++) for (let d = 0; d < dims; d++) m2[d] += (rows[r * dims + d] - mean[d]) ** 2;
  return { mean, m2 };
}

describe('StreamingMoments', () => {
  it('merging batches of different sizes equals one-pass float64 mean and unbiased std', () => {
    const dims = 5;
    const sizes = [1, 7, 100, 3, 50, 2];
    const total = sizes.reduce((a, b) => a + b, 0);
    // Offset and spread differ per dimension; a large offset stresses the merge's stability.
    const all = values(total * dims, 9, -3, 3).map((v, i) => 1000 * (i % dims) + v * (1 + (i % dims)));
    const sm = new StreamingMoments(dims);
    let start = 0;
    for (const n of sizes) {
      const { mean, m2 } = moments(all.subarray(start * dims, (start + n) * dims), n, dims);
      sm.merge(n, mean, m2);
      start += n;
    }
    expect(sm.count).toBe(total);
    const ref = moments(all, total, dims);
    for (let d = 0; d < dims; d++) {
      expect(Math.abs(sm.mean[d] - ref.mean[d])).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(ref.mean[d])));
      expect(Math.abs(sm.m2[d] - ref.m2[d])).toBeLessThanOrEqual(1e-9 * ref.m2[d]);
    }
    const fit = sm.result();
    expect(fit.mean).toBeInstanceOf(Float32Array);
    expect(fit.std).toBeInstanceOf(Float32Array);
    for (let d = 0; d < dims; d++) {
      expect(fit.mean[d]).toBe(Math.fround(ref.mean[d]));
      const std = Math.sqrt(ref.m2[d] / (total - 1)); // unbiased, like torch.std
      expect(Math.abs(fit.std[d] - std) / std).toBeLessThan(1e-6);
    }
  });

  it('the order of the batches does not matter', () => {
    const dims = 3;
    const data = values(40 * dims, 4);
    const a = new StreamingMoments(dims);
    const b = new StreamingMoments(dims);
    const batches: [number, number][] = [
      [0, 5],
      [5, 30],
      [30, 40],
    ];
    for (const [s, e] of batches) {
      const m = moments(data.subarray(s * dims, e * dims), e - s, dims);
      a.merge(e - s, m.mean, m.m2);
    }
    for (const [s, e] of [...batches].reverse()) {
      const m = moments(data.subarray(s * dims, e * dims), e - s, dims);
      b.merge(e - s, m.mean, m.m2);
    }
    for (let d = 0; d < dims; d++) {
      expect(a.mean[d]).toBeCloseTo(b.mean[d], 13);
      expect(a.m2[d]).toBeCloseTo(b.m2[d], 11);
    }
  });

  it('needs at least 2 samples', () => {
    const sm = new StreamingMoments(2);
    expect(() => sm.result()).toThrow(/at least 2 samples/);
    sm.merge(1, [1, 2], [0, 0]);
    expect(() => sm.result()).toThrow(/at least 2 samples/);
  });
});

describe.skipIf(!HAVE_SHARED_PARITY)(`fitGaussianOn the recorded p64 mapping ${needsShared('parity')}`, () => {
  it('batches of 100 and of 1024 agree within 1e-5 x max|lrelu5(w)|, and leak nothing', async () => {
    const before = tf.memory().numTensors;
    const small = await fitGaussianOn(mapping, z.data, z.shape[0], 100);
    const whole = await fitGaussianOn(mapping, z.data, z.shape[0], 1024);
    expect(tf.memory().numTensors).toBe(before);
    expect(small.mean.length).toBe(512);
    expect(maxAbsErrorRatio(small.mean, whole.mean, scale)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsErrorRatio(small.std, whole.std, scale)).toBeLessThanOrEqual(1e-5);
  });

  it('matches mapping_fit_{mean,std}.npy within 1e-4 x max|lrelu5(w)|', async () => {
    const dir = caseDir('p64');
    const fit = await fitGaussianOn(mapping, z.data, z.shape[0], 256);
    const mean = readNpy(join(dir, 'mapping_fit_mean.npy')).data;
    const std = readNpy(join(dir, 'mapping_fit_std.npy')).data;
    expect(scale).toBeGreaterThan(0);
    expect(maxAbsErrorRatio(fit.mean, mean, scale)).toBeLessThanOrEqual(1e-4);
    expect(maxAbsErrorRatio(fit.std, std, scale)).toBeLessThanOrEqual(1e-4);
  });
});

describe('fitGaussianOn a random mapping network (outputs that vary)', () => {
  it('batches of 32 over 70 rows (32, 32, 6) equal a float64 one-pass fit of all rows', async () => {
    const net = Mapping.fromStateDict(randomMappingStateDict(9), 'random');
    const rows = 70;
    const zr = Float32Array.from(values(rows * 512, 17, -2, 2));
    const fit = await fitGaussianOn(net, zr, rows, 32);
    const w = tf.tidy(() => tf.leakyRelu(net.forward(tf.tensor2d(zr, [rows, 512])), 5));
    const lifted = Float64Array.from(await w.data());
    w.dispose();
    const ref = moments(lifted, rows, 512);
    const refStd = ref.m2.map((m) => Math.sqrt(m / (rows - 1)));
    const s = maxAbs(lifted);
    expect(maxAbs(refStd)).toBeGreaterThan(1e-3 * s); // the samples really vary
    expect(maxAbsErrorRatio(fit.mean, ref.mean, s)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsErrorRatio(fit.std, refStd, s)).toBeLessThanOrEqual(1e-5);
    // Leaving out the last partial batch would be visible.
    const short = await fitGaussianOn(net, zr, 64, 32);
    expect(maxAbsErrorRatio(short.mean, ref.mean, s)).toBeGreaterThan(1e-3);
    net.dispose();
  });
});

describe('fitGaussian', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const net = Mapping.fromStateDict(randomMappingStateDict(5), 'random');
    const progress: [number, number][] = [];
    const a = await fitGaussian(net, { samples: 70, batchSize: 32, seed: 3, onProgress: (d, t) => progress.push([d, t]) });
    const b = await fitGaussian(net, { samples: 70, batchSize: 32, seed: 3 });
    const c = await fitGaussian(net, { samples: 70, batchSize: 32, seed: 4 });
    expect(progress).toEqual([
      [32, 70],
      [64, 70],
      [70, 70],
    ]);
    expect(Buffer.from(a.mean.buffer).equals(Buffer.from(b.mean.buffer))).toBe(true);
    expect(Buffer.from(a.std.buffer).equals(Buffer.from(b.std.buffer))).toBe(true);
    expect(maxAbsErrorRatio(a.mean, c.mean)).toBeGreaterThan(1e-3);
    expect(a.std.every((s) => s > 0 && Number.isFinite(s))).toBe(true);
    net.dispose();
  });

  it('rejects bad sample counts and batch sizes, naming them', async () => {
    const net = Mapping.fromStateDict(randomMappingStateDict(5), 'random');
    await expect(fitGaussian(net, { samples: 1 })).rejects.toThrow(/samples=1 must be an integer >= 2/);
    await expect(fitGaussian(net, { samples: 10.5 })).rejects.toThrow(/samples=10.5/);
    await expect(fitGaussian(net, { samples: 10, batchSize: 0 })).rejects.toThrow(/batchSize=0 must be a positive integer/);
    net.dispose();
  });
});
