/** Student's t quantiles against printed tables (two-sided 95%: 12.7062 at 1 df, 2.2281 at 10, 4.3027 at 2) and the t-interval. */
import { describe, expect, it } from 'vitest';
import { studentTQuantile, tInterval } from '../src/util/student-t.js';

describe('Student t', () => {
  it('t quantiles and intervals', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.7062, 3);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.2281, 3);
    expect(studentTQuantile(0.975, 1e6)).toBeCloseTo(1.96, 2);
    const i = tInterval([1, 2, 3]);
    expect(i.mean).toBe(2);
    expect(i.high! - 2).toBeCloseTo(4.3027 / Math.sqrt(3), 3);
    expect(tInterval([0, 1], 0.95, [0, 1])).toMatchObject({ low: 0, high: 1 });
    expect(tInterval([5])).toMatchObject({ n: 1, mean: 5, low: null });
  });
});
