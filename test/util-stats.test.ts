import { describe, expect, it } from 'vitest';
import { finiteMedian, median } from '../src/util/stats.js';
import { isPowerOfTwo } from '../src/util/power-of-two.js';

describe('median', () => {
  it('takes the middle value of an odd count and the mean of the two middle ones of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([-1e-9])).toBe(-1e-9);
  });
  it('is NaN for no values and leaves its input unsorted', () => {
    expect(median([])).toBeNaN();
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
  it('finiteMedian drops NaN and infinities, and is null when nothing is left', () => {
    expect(finiteMedian([NaN, 5, Infinity, 1, -Infinity])).toBe(3);
    expect(finiteMedian([NaN, Infinity])).toBeNull();
    expect(finiteMedian([])).toBeNull();
  });
});

describe('isPowerOfTwo', () => {
  it('accepts 1, 2, 4, ..., 2^40 and nothing else between 0 and 1100', () => {
    const powers = new Set(Array.from({ length: 41 }, (_, k) => 2 ** k));
    for (let n = 0; n <= 1100; n++) expect(isPowerOfTwo(n), String(n)).toBe(powers.has(n));
    for (const p of powers) expect(isPowerOfTwo(p)).toBe(true);
  });
  it('rejects fractions, negatives and non-finite numbers', () => {
    for (const n of [0.5, 2.5, -2, -1, NaN, Infinity]) expect(isPowerOfTwo(n), String(n)).toBe(false);
  });
});
