/**
 * src/eval/precision-recall.ts on cases worked by hand: a 1-D example, identical sets, a
 * collapsed generator (high precision, low recall) and one drawing off the manifold.
 */
import { describe, expect, it } from 'vitest';
import { kthNeighbourRadii, precisionRecall, shareInsideManifold } from '../src/eval/precision-recall.js';
import { gaussian } from '../src/util/random.js';

const points = (xs: number[]) => xs.map((x) => [x]);

function cloud(n: number, dim: number, seed: number, centre = 0, spread = 1): Float32Array[] {
  const g = gaussian(seed, n * dim);
  return Array.from({ length: n }, (_, i) => Float32Array.from(g.subarray(i * dim, (i + 1) * dim), (v) => centre + spread * v));
}

describe('precision and recall (Kynkäänniemi et al. 2019)', () => {
  it('1-D by hand: radii, precision 1/3, recall 1', () => {
    const real = points([0, 1, 2, 3, 10]);
    expect([...kthNeighbourRadii(real, 1)]).toEqual([1, 1, 1, 1, 7]);
    expect([...kthNeighbourRadii(real, 2)]).toEqual([2, 1, 1, 2, 8]);
    const generated = points([20, 1.5, 100]);
    // Real balls (k = 1): only 1.5 lies in one; generated radii 18.5, 18.5, 80 cover every real point.
    const pr = precisionRecall(generated, real, 1);
    expect(pr.precision).toBeCloseTo(1 / 3, 12);
    expect(pr.recall).toBe(1);
    expect(pr.counts).toEqual([3, 5]);
  });

  it('a set against itself: precision = recall = 1', () => {
    const x = cloud(50, 8, 1);
    const pr = precisionRecall(x, x);
    expect([pr.precision, pr.recall, pr.k]).toEqual([1, 1, 3]);
  });

  it('a collapsed generator keeps precision and loses recall; an off-manifold one loses precision', () => {
    const real = cloud(200, 4, 2);
    const collapsed = cloud(200, 4, 3, 0, 0.05).map((v) => v.map((x, i) => x + real[0][i]));
    const c = precisionRecall(collapsed, real);
    expect(c.precision).toBeGreaterThan(0.95);
    expect(c.recall).toBeLessThan(0.1);
    const far = cloud(200, 4, 4, 6);
    const f = precisionRecall(far, real);
    expect(f.precision).toBeLessThan(0.05);
    const fresh = precisionRecall(cloud(200, 4, 5), real);
    expect(fresh.precision).toBeGreaterThan(0.6);
    expect(fresh.recall).toBeGreaterThan(0.6);
  });

  it('names what is wrong', () => {
    expect(() => kthNeighbourRadii(points([0, 1, 2]), 3)).toThrow(/more than k = 3 vectors; got 3/);
    expect(() => kthNeighbourRadii(points([0, 1]), 0)).toThrow(/positive integer/);
    expect(() => precisionRecall([[0, 1]], points([0, 1, 2, 3]))).toThrow(/different lengths/);
    expect(() => shareInsideManifold([], points([0]), new Float64Array(1))).toThrow(/no query/);
  });
});
