/** True for 1, 2, 4, 8, ...: an integer n >= 1 with exactly one bit set. */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && 2 ** Math.round(Math.log2(n)) === n;
}
