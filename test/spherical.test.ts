/**
 * The spherical projection of the official SphericalOptimizer: each row (latent: each of
 * the L style vectors of each image; noise: each image's whole map) keeps the radius
 * sqrt(sum x^2 + 1e-9) it started with.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectToSphere, rowAxes, rowNorm } from '../src/pulse/spherical.js';
import { useTestBackend } from './helpers/backend.js';
import { values } from './helpers/values.js';

beforeAll(async () => {
  await useTestBackend();
});


/** float64 sqrt(sum of squares + 1e-9) over consecutive groups of `size`. */
function norms64(data: ArrayLike<number>, size: number): number[] {
  const out: number[] = [];
  for (let start = 0; start < data.length; start += size) {
    let s = 0;
    for (let i = start; i < start + size; i++) s += data[i] * data[i];
    out.push(Math.sqrt(s + 1e-9));
  }
  return out;
}

describe('rowAxes / rowNorm', () => {
  it('latent [B, L, 512]: one norm per (image, layer), keepdims', async () => {
    const data = values(2 * 3 * 512, 1);
    const t = tf.tensor3d(data, [2, 3, 512]);
    expect(rowAxes(t)).toEqual([2]);
    const n = rowNorm(t);
    expect(n.shape).toEqual([2, 3, 1]);
    const got = await n.data();
    norms64(data, 512).forEach((v, i) => expect(Math.abs(got[i] - v) / v).toBeLessThan(1e-6));
    tf.dispose([t, n]);
  });

  it('noise [B, s, s, 1]: one norm per image (the NCHW [B, 1, s, s] rows of the official code)', async () => {
    const data = values(3 * 8 * 8, 2);
    const t = tf.tensor4d(data, [3, 8, 8, 1]);
    expect(rowAxes(t)).toEqual([1, 2, 3]);
    const n = rowNorm(t);
    expect(n.shape).toEqual([3, 1, 1, 1]);
    const got = await n.data();
    norms64(data, 64).forEach((v, i) => expect(Math.abs(got[i] - v) / v).toBeLessThan(1e-6));
    tf.dispose([t, n]);
  });

  it('includes +1e-9 under the square root (a zero row has norm sqrt(1e-9))', async () => {
    const z = tf.zeros([1, 2, 4]);
    const n = rowNorm(z);
    const got = await n.data();
    for (const v of got) expect(v).toBeCloseTo(Math.sqrt(1e-9), 10);
    // And a tiny row: sqrt(1e-10 + 1e-9), not 1e-5.
    const tiny = tf.tensor3d([1e-5, 0, 0, 0], [1, 1, 4]);
    const tinyNorm = rowNorm(tiny);
    const m = await tinyNorm.data();
    expect(m[0]).toBeCloseTo(Math.sqrt(1e-10 + 1e-9), 9);
    expect(Math.abs(m[0] - 1e-5)).toBeGreaterThan(1e-5);
    tf.dispose([z, n, tiny, tinyNorm]);
  });

  it('rejects other ranks, naming the shape', () => {
    const t = tf.zeros([4, 5]);
    expect(() => rowAxes(t)).toThrow(/rank 3 \(latent\) or 4 \(noise\).*\[4, 5\]/);
    t.dispose();
  });
});

describe('projectToSphere', () => {
  it('restores each latent row to its starting radius, keeping its direction', async () => {
    const [b, l, d] = [2, 4, 512];
    const start = values(b * l * d, 3, -2, 2);
    const moved = values(b * l * d, 4, -3, 1);
    const x0 = tf.tensor3d(start, [b, l, d]);
    const radius = rowNorm(x0);
    const x1 = tf.tensor3d(moved, [b, l, d]);
    const p = projectToSphere(x1, radius);
    const got = await p.data();
    const want = norms64(start, d);
    const dirNorms = norms64(moved, d);
    norms64(got, d).forEach((v, i) => expect(Math.abs(v - want[i]) / want[i], `row ${i}`).toBeLessThan(1e-5));
    // Direction: got = moved * (r0 / |moved|), element by element.
    for (let i = 0; i < got.length; i += 37) {
      const row = Math.floor(i / d);
      const expected = (moved[i] / dirNorms[row]) * want[row];
      expect(Math.abs(got[i] - expected)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected)));
    }
    tf.dispose([x0, radius, x1, p]);
  });

  it('restores each image noise map to its radius, images independent', async () => {
    const start = values(3 * 16 * 16, 5);
    const moved = values(3 * 16 * 16, 6, -5, 5);
    moved.fill(0.01, 256, 512); // image 1 shrank a lot
    const x0 = tf.tensor4d(start, [3, 16, 16, 1]);
    const r = rowNorm(x0);
    const x1 = tf.tensor4d(moved, [3, 16, 16, 1]);
    const p = projectToSphere(x1, r);
    expect(p.shape).toEqual([3, 16, 16, 1]);
    const got = await p.data();
    const want = norms64(start, 256);
    norms64(got, 256).forEach((v, i) => expect(Math.abs(v - want[i]) / want[i], `image ${i}`).toBeLessThan(1e-5));
    tf.dispose([x0, r, x1, p]);
  });

  it('is idempotent on a point already on the sphere and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const data = values(1 * 2 * 8, 7);
    const x = tf.tensor3d(data, [1, 2, 8]);
    const r = rowNorm(x);
    const p = projectToSphere(x, r);
    const got = await p.data();
    for (let i = 0; i < data.length; i++) expect(got[i]).toBeCloseTo(data[i], 6);
    tf.dispose([x, r, p]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps a zero row at zero (no NaN)', async () => {
    const x = tf.zeros([1, 1, 4]);
    const r = tf.fill([1, 1, 1], 2);
    const p = projectToSphere(x, r);
    expect(Array.from(await p.data())).toEqual([0, 0, 0, 0]);
    tf.dispose([x, r, p]);
  });
});
