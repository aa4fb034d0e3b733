/**
 * PULSE's loss terms against plain float64 references of the official LossBuilder, the
 * recorded GEOCROSS of the parity cases, and GEOCROSS's gradient against central
 * finite differences of the float64 reference.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { geocross, l1Loss, l2Loss, perImageMse } from '../src/pulse/losses.js';
import { readNpy } from '../src/io/npy.js';
import { relativeError } from '../src/parity/check.js';
import { useTestBackend } from './helpers/backend.js';
import { values } from './helpers/values.js';
import { HAVE_SHARED_PARITY, caseDir, needsShared } from './helpers/paths.js';

beforeAll(async () => {
  await useTestBackend();
});


/** Official _loss_geocross in float64 on [B, L, D] row-major (512 -> D, 18 -> L). */
function geocross64(x: ArrayLike<number>, b: number, l: number, d: number): number {
  let total = 0;
  for (let n = 0; n < b; n++) {
    let acc = 0;
    for (let i = 0; i < l; i++)
      for (let j = 0; j < l; j++) {
        let sa = 0;
        let sc = 0;
        for (let k = 0; k < d; k++) {
          const xi = x[(n * l + i) * d + k];
          const xj = x[(n * l + j) * d + k];
          sa += (xi - xj) ** 2;
          sc += (xi + xj) ** 2;
        }
        const angle = 2 * Math.atan2(Math.sqrt(sa + 1e-9), Math.sqrt(sc + 1e-9));
        acc += angle * angle * d;
      }
    total += acc / (l * l) / 8;
  }
  return total;
}

async function scalar(t: tf.Tensor): Promise<number> {
  const v = (await t.data())[0];
  t.dispose();
  return v;
}

describe('perImageMse / l2Loss / l1Loss', () => {
  const shape: [number, number, number, number] = [3, 4, 5, 3];
  const n = 4 * 5 * 3;
  const a = values(3 * n, 1, 0, 1);
  const bData = values(3 * n, 2, 0, 1);
  // Image 1 is nearly the target, so that its per-image means fall below eps and clamp.
  for (let i = n; i < 2 * n; i++) bData[i] = a[i] + (i % 2 ? 1e-3 : -1e-3);

  const mse64 = (k: number) => {
    let s = 0;
    for (let i = k * n; i < (k + 1) * n; i++) s += (a[i] - bData[i]) ** 2;
    return s / n;
  };
  const mae64 = (k: number) => {
    let s = 0;
    for (let i = k * n; i < (k + 1) * n; i++) s += Math.abs(a[i] - bData[i]);
    return s / n;
  };

  it('perImageMse is the unclamped per-image mean squared error', async () => {
    const t = tf.tidy(() => perImageMse(tf.tensor4d(a, shape), tf.tensor4d(bData, shape)));
    expect(t.shape).toEqual([3]);
    const got = await t.data();
    t.dispose();
    for (let k = 0; k < 3; k++) expect(relativeError(got[k], mse64(k))).toBeLessThan(1e-5);
    expect(mse64(1)).toBeLessThan(1e-5);
  });

  it('l2Loss clamps each image at eps, then sums over the batch', async () => {
    const eps = 2e-3;
    const expected = [0, 1, 2].map((k) => Math.max(mse64(k), eps)).reduce((x, y) => x + y, 0);
    const got = await scalar(tf.tidy(() => l2Loss(perImageMse(tf.tensor4d(a, shape), tf.tensor4d(bData, shape)), eps)));
    expect(relativeError(got, expected)).toBeLessThan(1e-6);
    // Without clamping the nearly-equal image would contribute ~1e-6, not eps.
    const unclamped = [0, 1, 2].map(mse64).reduce((x, y) => x + y, 0);
    expect(Math.abs(got - unclamped)).toBeGreaterThan(1e-3);
    // Plain values: each entry clamped at eps.
    const plain = await scalar(tf.tidy(() => l2Loss(tf.tensor1d([0, 1e-4, 0.5, 3]), 1e-3)));
    expect(plain).toBeCloseTo(1e-3 + 1e-3 + 0.5 + 3, 6);
  });

  it('l2Loss gradient is zero below eps and one above it (torch clamp)', async () => {
    const g = tf.grad((m: tf.Tensor) => l2Loss(m as tf.Tensor1D, 0.01))(tf.tensor1d([0.001, 0.5, 0.002, 2]));
    expect(Array.from(await g.data())).toEqual([0, 1, 0, 1]);
    g.dispose();
  });

  it('l1Loss is 10 x the batch sum of the per-image mean |a - b|, each clamped at eps', async () => {
    const eps = 2e-3;
    const expected = 10 * [0, 1, 2].map((k) => Math.max(mae64(k), eps)).reduce((x, y) => x + y, 0);
    const got = await scalar(tf.tidy(() => l1Loss(tf.tensor4d(a, shape), tf.tensor4d(bData, shape), eps)));
    expect(relativeError(got, expected)).toBeLessThan(1e-6);
    expect(mae64(1)).toBeLessThan(eps);
  });

  it('no tensors leak', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor4d(a, shape);
    const y = tf.tensor4d(bData, shape);
    const m = perImageMse(x, y);
    tf.dispose([m, l2Loss(m, 1e-3), l1Loss(x, y, 1e-3), x, y]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('geocross', () => {
  it('equals case.json geocross_dlatents of the fixture case f32 within 1e-5 relative', async () => {
    for (const name of ['f32']) {
      const c = JSON.parse(readFileSync(join(caseDir(name), 'case.json'), 'utf8')) as { geocross_dlatents: number };
      const dl = readNpy(join(caseDir(name), 'dlatents.npy'));
      const got = await scalar(tf.tidy(() => geocross(tf.tensor3d(dl.data, dl.shape as [number, number, number]))));
      expect(relativeError(got, c.geocross_dlatents), name).toBeLessThanOrEqual(1e-5);
      const [b, l, d] = dl.shape;
      expect(relativeError(geocross64(dl.data, b, l, d), c.geocross_dlatents), `${name} float64`).toBeLessThanOrEqual(1e-5);
    }
  });

  it.skipIf(!HAVE_SHARED_PARITY)(`equals case.json geocross_dlatents for p64 (B=1) and p32-l1 (B=2) within 1e-5 relative ${needsShared('parity')}`, async () => {
    for (const name of ['p64', 'p32-l1']) {
      const c = JSON.parse(readFileSync(join(caseDir(name), 'case.json'), 'utf8')) as { geocross_dlatents: number; batch: number };
      const dl = readNpy(join(caseDir(name), 'dlatents.npy'));
      expect(dl.shape[0]).toBe(c.batch);
      const got = await scalar(tf.tidy(() => geocross(tf.tensor3d(dl.data, dl.shape as [number, number, number]))));
      expect(relativeError(got, c.geocross_dlatents), name).toBeLessThanOrEqual(1e-5);
      // and the float64 reference of the official formula agrees with the recording
      const [b, l, d] = dl.shape;
      expect(relativeError(geocross64(dl.data, b, l, d), c.geocross_dlatents), `${name} float64`).toBeLessThanOrEqual(1e-5);
    }
  });

  it.skipIf(!HAVE_SHARED_PARITY)(`is the sum over the batch of per-image values (p32-l1) ${needsShared('parity')}`, async () => {
    const dl = readNpy(join(caseDir('p32-l1'), 'dlatents.npy'));
    const [, l, d] = dl.shape;
    const per = await Promise.all(
      [0, 1].map((k) => scalar(tf.tidy(() => geocross(tf.tensor3d(dl.data.subarray(k * l * d, (k + 1) * l * d), [1, l, d]))))),
    );
    const both = await scalar(tf.tidy(() => geocross(tf.tensor3d(dl.data, [2, l, d]))));
    expect(relativeError(both, per[0] + per[1])).toBeLessThan(1e-6);
  });

  it.skipIf(!HAVE_SHARED_PARITY)(`is ~0 for identical rows (the tiled p128-tile case records 2.02e-9) ${needsShared('parity')}`, async () => {
    const c = JSON.parse(readFileSync(join(caseDir('p128-tile'), 'case.json'), 'utf8')) as { geocross_dlatents: number };
    const dl = readNpy(join(caseDir('p128-tile'), 'dlatents.npy'));
    const got = await scalar(tf.tidy(() => geocross(tf.tensor3d(dl.data, dl.shape as [number, number, number]))));
    expect(got).toBeLessThan(1e-8);
    expect(relativeError(got, c.geocross_dlatents)).toBeLessThan(1e-3);
  });

  it('is ~0 for identical rows of a made-up latent', async () => {
    const row = values(16, 3);
    const same = new Float32Array(5 * 16);
    for (let i = 0; i < 5; i++) same.set(row, i * 16);
    const v = await scalar(tf.tidy(() => geocross(tf.tensor3d(same, [1, 5, 16]))));
    expect(v).toBeGreaterThanOrEqual(0);
    expect(v).toBeLessThan(1e-8);
  });

  it('gradient equals central finite differences of the float64 formula on [1, 4, 8]', async () => {
    const [b, l, d] = [1, 4, 8];
    const x = values(b * l * d, 21);
    const g = tf.grad((t: tf.Tensor) => geocross(t as tf.Tensor3D))(tf.tensor3d(x, [b, l, d]));
    const got = await g.data();
    g.dispose();
    const x64 = Float64Array.from(x);
    const h = 1e-5;
    let scale = 0;
    const fd = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const keep = x64[i];
      x64[i] = keep + h;
      const up = geocross64(x64, b, l, d);
      x64[i] = keep - h;
      const dn = geocross64(x64, b, l, d);
      x64[i] = keep;
      fd[i] = (up - dn) / (2 * h);
      scale = Math.max(scale, Math.abs(fd[i]));
    }
    expect(scale).toBeGreaterThan(0.01);
    for (let i = 0; i < x.length; i++) expect(Math.abs(got[i] - fd[i]), `element ${i}`).toBeLessThanOrEqual(1e-2 * Math.abs(fd[i]) + 1e-4 * scale);
  });

  it('the forward value equals the float64 formula on a batch of random inputs', async () => {
    const x = values(2 * 6 * 32, 5);
    const got = await scalar(tf.tidy(() => geocross(tf.tensor3d(x, [2, 6, 32]))));
    expect(relativeError(got, geocross64(x, 2, 6, 32))).toBeLessThan(1e-5);
  });
});
