/**
 * src/eval/precision-recall.ts on cases worked by hand: a 1-D example, identical sets, a
 * collapsed generator (high precision, low recall and coverage) and one drawing off the
 * manifold.
 */
import { describe, expect, it } from 'vitest';
import { densityCoverage, kthNeighbourRadii, precisionRecall, shareInsideManifold } from '../src/eval/precision-recall.js';
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
    // Density and coverage use the real balls only: [-1, 1], [0, 2], [1, 3], [2, 4], [3, 17].
    // 1.5 lies in two of them, 20 and 100 in none: density 2 / (1 * 3), coverage 2 / 5. The far
    // sample 20's own ball (radius 18.5) gave recall 1; coverage is not fooled by it.
    expect(pr.density).toBeCloseTo(2 / 3, 12);
    expect(pr.coverage).toBeCloseTo(2 / 5, 12);
  });

  it('a set against itself: precision = recall = 1', () => {
    const x = cloud(50, 8, 1);
    const pr = precisionRecall(x, x);
    expect([pr.precision, pr.recall, pr.k]).toEqual([1, 1, 3]);
    // Each real ball holds its own centre and its k nearest neighbours: density (k + 1) / k.
    expect(pr.coverage).toBe(1);
    expect(pr.density).toBeCloseTo(4 / 3, 12);
  });

  it('a collapsed generator keeps precision and loses recall; an off-manifold one loses precision', () => {
    const real = cloud(200, 4, 2);
    const collapsed = cloud(200, 4, 3, 0, 0.05).map((v) => v.map((x, i) => x + real[0][i]));
    const c = precisionRecall(collapsed, real);
    expect(c.precision).toBeGreaterThan(0.95);
    expect(c.recall).toBeLessThan(0.1);
    expect(c.coverage).toBeLessThan(0.1);
    const far = cloud(200, 4, 4, 6);
    const f = precisionRecall(far, real);
    expect(f.precision).toBeLessThan(0.05);
    const fresh = precisionRecall(cloud(200, 4, 5), real);
    expect(fresh.precision).toBeGreaterThan(0.6);
    expect(fresh.recall).toBeGreaterThan(0.6);
    expect(fresh.coverage).toBeGreaterThan(0.6);
    expect(fresh.density).toBeGreaterThan(0.6);
    expect(fresh.density).toBeLessThan(1.5);
    // Coverage ranks crowded generators where recall cannot: samples spread over a tenth of the
    // real spread, around the real mean, cover more real faces than the collapsed ones.
    const crowded = precisionRecall(cloud(200, 4, 6, 0, 0.3), real);
    expect(crowded.coverage).toBeGreaterThan(c.coverage);
  });

  it('names what is wrong', () => {
    expect(() => kthNeighbourRadii(points([0, 1, 2]), 3)).toThrow(/more than k = 3 vectors; got 3/);
    expect(() => kthNeighbourRadii(points([0, 1]), 0)).toThrow(/positive integer/);
    expect(() => precisionRecall([[0, 1]], points([0, 1, 2, 3]))).toThrow(/different lengths/);
    expect(() => shareInsideManifold([], points([0]), new Float64Array(1))).toThrow(/no query/);
    expect(() => densityCoverage([], points([0]), new Float64Array(1), 1)).toThrow(/no generated/);
    expect(() => densityCoverage(points([0]), points([0, 1]), new Float64Array(1), 1)).toThrow(/1 radii for 2 vectors/);
  });
});
