/**
 * src/eval/linear-probe.ts on sets whose separability is known: two clouds apart along one
 * direction among many (nearly every item on the right side), the same cloud twice (chance),
 * unequal set sizes (balanced accuracy), the same numbers on a second run, and bad input.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestBackend } from './helpers/backend.js';
import { linearProbe } from '../src/eval/linear-probe.js';
import { gaussian } from '../src/util/random.js';

beforeAll(async () => {
  await useTestBackend();
});

/** n points in `dim` dimensions, N(0, 1) each, the first coordinate shifted by `shift`. */
function cloud(n: number, dim: number, seed: number, shift = 0): Float32Array[] {
  const g = gaussian(seed, n * dim);
  return Array.from({ length: n }, (_, i) => {
    const row = Float32Array.from(g.subarray(i * dim, (i + 1) * dim));
    row[0] += shift;
    return row;
  });
}

describe('linear probe (cross-validated logistic regression)', () => {
  it('separates clouds 4 standard deviations apart along one of 20 directions', () => {
    // The best cut errs where a unit Gaussian passes 2 sigma: 2.3% each side, so ~0.977.
    const r = linearProbe(cloud(200, 20, 1, 4), cloud(200, 20, 2), { steps: 200 });
    expect(r.accuracy).toBeGreaterThan(0.95);
    expect(r.foldAccuracies).toHaveLength(5);
    expect(r).toMatchObject({ sizes: { a: 200, b: 200 }, dimensions: 20, folds: 5 });
  });

  it('is at chance on two draws of one cloud, and says so whatever the sizes', () => {
    const r = linearProbe(cloud(150, 10, 3), cloud(300, 10, 4), { steps: 200 });
    // 450 items, 10 dimensions: held-out balanced accuracy within a few points of 0.5
    expect(Math.abs(r.accuracy - 0.5)).toBeLessThan(0.08);
    // the training folds fit some of the noise; the held-out ones cannot
    expect(r.trainAccuracy).toBeGreaterThan(r.accuracy);
  });

  it('gives the same numbers on the same input and seed', () => {
    const a = cloud(40, 6, 5, 1);
    const b = cloud(40, 6, 6);
    expect(linearProbe(a, b, { steps: 50 })).toEqual(linearProbe(a, b, { steps: 50 }));
    expect(linearProbe(a, b, { steps: 50, seed: 'other' }).foldAccuracies).not.toEqual(linearProbe(a, b, { steps: 50 }).foldAccuracies);
  });

  it('names what is wrong with its input', () => {
    expect(() => linearProbe(cloud(3, 2, 1), cloud(10, 2, 2))).toThrow(/set a has 3 items; 5-fold cross-validation needs at least 5/);
    expect(() => linearProbe(cloud(10, 2, 1), [...cloud(9, 2, 2), new Float32Array(3)])).toThrow(/item 19 has 3 features, item 0 has 2/);
    expect(() => linearProbe(cloud(10, 2, 1), cloud(10, 2, 2), { folds: 1 })).toThrow(/folds=1 must be an integer >= 2/);
    const nan = cloud(10, 2, 2);
    nan[4][1] = Number.NaN;
    expect(() => linearProbe(cloud(10, 2, 1), nan)).toThrow(/NaN or infinite/);
  });
});
