/** Order statistics shared by the evaluation, experiments and speed reports. */

/** The median of `values` (the mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The median of the finite entries of `values` (NaN and ±Infinity dropped), or null when none are. */
export function finiteMedian(values: readonly number[]): number | null {
  const finite = values.filter((x) => Number.isFinite(x));
  return finite.length === 0 ? null : median(finite);
}
