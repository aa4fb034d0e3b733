/**
 * The Frechet distance between two sets of vectors, each summarised by a Gaussian (as FID does
 * with Inception features; here with 128-d face descriptors):
 *
 *   d^2 = |mu1 - mu2|^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))
 *
 * All in float64. Covariances are unbiased (divided by n - 1, as numpy.cov and pytorch-fid).
 * Tr (S1 S2)^(1/2) is computed as Tr (A S2 A)^(1/2) with A = S1^(1/2): S1 S2 and A S2 A have the
 * same eigenvalues (AB and BA always do), and A S2 A is symmetric positive semi-definite, so
 * both square roots come from symmetric eigen-decompositions with no
 * complex arithmetic (cyclic Jacobi, src/util/linalg.ts); eigenvalues within rounding of zero (<= 1e-13 of the largest) count as 0.
 * With fewer vectors than dimensions the covariances are singular; the formula still holds.
 */
import { symmetricEigen } from '../util/linalg.js';

/** Mean and covariance of a set of vectors. */
export interface GaussianStats {
  readonly dim: number;
  /** How many vectors. */
  readonly count: number;
  readonly mean: Float64Array;
  /** Row-major dim x dim, unbiased (n - 1). */
  readonly cov: Float64Array;
}

export interface FrechetResult {
  /** d^2 above (the quantity FID reports), >= 0 up to rounding. */
  readonly distance: number;
  /** |mu1 - mu2|^2. */
  readonly meanTerm: number;
  /** Tr(S1 + S2 - 2 (S1 S2)^(1/2)). */
  readonly traceTerm: number;
  readonly counts: readonly [number, number];
  readonly dim: number;
}

/** Mean and unbiased covariance of `vectors` (at least 2, all the same length). */
export function gaussianStats(vectors: readonly ArrayLike<number>[]): GaussianStats {
  const n = vectors.length;
  if (n < 2) throw new Error(`need at least 2 vectors for a covariance; got ${n}`);
  const d = vectors[0].length;
  if (d < 1) throw new Error('vectors are empty');
  const mean = new Float64Array(d);
  vectors.forEach((v, k) => {
    if (v.length !== d) throw new Error(`vector ${k} has ${v.length} values; the first has ${d}`);
    for (let i = 0; i < d; i++) mean[i] += v[i];
  });
  for (let i = 0; i < d; i++) mean[i] /= n;
  const cov = new Float64Array(d * d);
  const c = new Float64Array(d);
  for (const v of vectors) {
    for (let i = 0; i < d; i++) c[i] = v[i] - mean[i];
    for (let i = 0; i < d; i++) {
      const ci = c[i];
      if (ci === 0) continue;
      const row = i * d;
      for (let j = i; j < d; j++) cov[row + j] += ci * c[j];
    }
  }
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      const v = cov[i * d + j] / (n - 1);
      cov[i * d + j] = v;
      cov[j * d + i] = v;
    }
  }
  for (let i = 0; i < d * d; i++) if (!Number.isFinite(cov[i])) throw new Error('vectors contain NaN or infinite values');
  return { dim: d, count: n, mean, cov };
}

export { symmetricEigen, type SymmetricEigen } from '../util/linalg.js';

/**
 * Eigenvalues at or below this are rounding noise of a zero eigenvalue (1e-13 of the largest
 * magnitude; float64 rounding leaves about 1e-16 * n). Their square roots (1e-8 scale) would
 * otherwise add up over the null space of a singular covariance (fewer vectors than dimensions).
 */
function roundingFloor(values: Float64Array): number {
  let m = 0;
  for (const v of values) m = Math.max(m, Math.abs(v));
  return 1e-13 * m;
}

/** The symmetric square root of a symmetric positive semi-definite matrix (eigenvalues at rounding level or below taken as 0). */
export function sqrtPsd(matrix: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const floor = roundingFloor(values);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const r = values[k] > floor ? Math.sqrt(values[k]) : 0;
    if (r === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * r;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return out;
}

function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  }
  return out;
}

/** Tr (S1 S2)^(1/2) for symmetric positive semi-definite S1, S2 (see the module comment). */
export function traceSqrtProduct(s1: ArrayLike<number>, s2: ArrayLike<number>, n: number): number {
  const a = sqrtPsd(s1, n);
  const m = matMul(matMul(a, Float64Array.from(s2), n), a, n);
  const { values } = symmetricEigen(m, n);
  const floor = roundingFloor(values);
  let t = 0;
  for (const v of values) if (v > floor) t += Math.sqrt(v);
  return t;
}

/** The Frechet distance between two Gaussians. */
export function frechetFromStats(x: GaussianStats, y: GaussianStats): FrechetResult {
  if (x.dim !== y.dim) throw new Error(`the two sets have ${x.dim}- and ${y.dim}-dimensional vectors`);
  const d = x.dim;
  let meanTerm = 0;
  for (let i = 0; i < d; i++) meanTerm += (x.mean[i] - y.mean[i]) ** 2;
  let trace = 0;
  for (let i = 0; i < d; i++) trace += x.cov[i * d + i] + y.cov[i * d + i];
  const traceTerm = trace - 2 * traceSqrtProduct(x.cov, y.cov, d);
  return { distance: meanTerm + traceTerm, meanTerm, traceTerm, counts: [x.count, y.count], dim: d };
}

/** The Frechet distance between two sets of vectors (at least 2 each, same length). */
export function frechetDistance(x: readonly ArrayLike<number>[], y: readonly ArrayLike<number>[]): FrechetResult {
  return frechetFromStats(gaussianStats(x), gaussianStats(y));
}
