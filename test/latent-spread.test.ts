/** The latent-spread statistics on clouds whose answers are known. */
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestBackend } from './helpers/backend.js';
import { latentSpread, relativeChange } from '../src/eval/latent-spread.js';
import { gaussian } from '../src/util/random.js';

beforeAll(async () => {
  await useTestBackend();
});

describe('latentSpread', () => {
  it('an isotropic cloud: cosine 0, spread sqrt(d), participation d / (1 + d / n) (the finite-sample value)', () => {
    const [n, d] = [4000, 32];
    const s = latentSpread(gaussian('iso', n * d), n, d);
    expect(Math.abs(s.meanCosine)).toBeLessThan(0.01);
    expect(s.rmsDistanceToMean).toBeCloseTo(Math.sqrt(d), 0);
    expect(s.meanNorm).toBeLessThan(0.2);
    expect(s.participationRatio).toBeGreaterThan(0.95 * (d / (1 + d / n)));
    expect(s.participationRatio).toBeLessThan(1.05 * (d / (1 + d / n)));
  });

  it('k equal directions give participation k; a shared offset raises the cosine, not the spread', () => {
    const [n, d, k] = [3000, 24, 3];
    const g = gaussian('rank', n * k);
    const values = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) values[i * d + j * 5] = g[i * k + j];
    const low = latentSpread(values, n, d);
    expect(low.participationRatio).toBeCloseTo(k, 0);
    const shifted = values.map((x, i) => x + (i % d === 1 ? 10 : 0));
    const s = latentSpread(shifted, n, d);
    expect(s.meanNorm).toBeCloseTo(10, 0);
    expect(s.rmsDistanceToMean).toBeCloseTo(low.rmsDistanceToMean, 4);
    expect(s.meanCosine).toBeGreaterThan(0.9);
  });

  it('names what is wrong with its input', () => {
    expect(() => latentSpread(new Float32Array(5), 2, 3)).toThrow(/5 values are not 2 vectors of 3/);
    expect(() => latentSpread(new Float32Array(3), 1, 3)).toThrow(/at least 2 vectors/);
  });
});

describe('relativeChange', () => {
  it('is RMS(after - before) / RMS(before) per tensor, over the tensors both hold', () => {
    const before = new Map([
      ['a', { data: Float32Array.from([3, 4]) }],
      ['gone', { data: Float32Array.from([1]) }],
    ]);
    const after = new Map([
      ['a', { data: Float32Array.from([3, 4.5]) }],
      ['new', { data: Float32Array.from([1]) }],
    ]);
    const change = relativeChange(before, after);
    expect([...change.keys()]).toEqual(['a']);
    expect(change.get('a')).toBeCloseTo(0.5 / 5, 6);
    expect(() => relativeChange(before, new Map([['a', { data: new Float32Array(3) }]]))).toThrow(/tensor a has 2 values before and 3 after/);
  });
});
