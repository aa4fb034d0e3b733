/**
 * Improved precision and recall (Kynkäänniemi, Karras, Laine, Lehtinen, Aila, NeurIPS 2019),
 * here over 128-d face descriptors. They split what one Frechet distance mixes:
 *
 * - precision: the share of generated samples that fall inside the real faces' manifold
 *   (do the samples look like real faces?);
 * - recall: the share of real faces that fall inside the generated samples' manifold
 *   (do the samples cover the real faces: many people, or a few?).
 *
 * A set's manifold is the union of balls around its vectors, each ball's radius the distance
 * from that vector to its k-th nearest neighbour in the set (k = 3, the paper's choice). Both
 * numbers depend on the set sizes (radii shrink as sets grow), so compare them at equal sizes,
 * beside what two halves of the real faces score.
 *
 * Beside them, density and coverage (Naeem, Oh, Uh, Choi, Yoo, ICML 2020), which use only the
 * real balls. Recall builds its balls around the generated samples, so a generator whose samples
 * crowd together has tiny balls and a recall near 0 however many people it draws: every model
 * here scores 0.00, and recall cannot rank them. Coverage asks instead how many real faces have
 * a generated sample inside their own ball:
 *
 * - density: the mean number of real balls a generated sample falls in, divided by k (about 1
 *   for samples spread like the real faces, above 1 where they crowd into dense regions);
 * - coverage: the share of real faces whose ball holds at least one generated sample.
 */

import { descriptorDistance } from './descriptor-distance.js';

/** The paper's neighbourhood size. */
export const PRECISION_RECALL_K = 3;

export interface PrecisionRecall {
  /** Share of generated vectors inside the real manifold. */
  readonly precision: number;
  /** Share of real vectors inside the generated manifold. */
  readonly recall: number;
  /** Naeem et al.: mean count of real balls holding a generated vector, over k. */
  readonly density: number;
  /** Naeem et al.: share of real vectors whose ball holds a generated vector. */
  readonly coverage: number;
  readonly k: number;
  /** [generated, real]. */
  readonly counts: readonly [number, number];
}

/** For each vector, the distance to its k-th nearest other vector of the same set. */
export function kthNeighbourRadii(vectors: readonly ArrayLike<number>[], k: number = PRECISION_RECALL_K): Float64Array {
  const n = vectors.length;
  if (!Number.isInteger(k) || k < 1) throw new Error(`k must be a positive integer; got ${k}`);
  if (n <= k) throw new Error(`a k-nearest-neighbour radius needs more than k = ${k} vectors; got ${n}`);
  const radii = new Float64Array(n);
  const row = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let j = 0; j < n; j++) if (j !== i) row[m++] = descriptorDistance(vectors[i], vectors[j]);
    row.sort();
    radii[i] = row[k - 1];
  }
  return radii;
}

/** Share of `queries` within the ball of at least one vector of `set` (radii from kthNeighbourRadii). */
export function shareInsideManifold(queries: readonly ArrayLike<number>[], set: readonly ArrayLike<number>[], radii: Float64Array): number {
  if (queries.length === 0) throw new Error('shareInsideManifold: no query vectors');
  if (radii.length !== set.length) throw new Error(`shareInsideManifold: ${radii.length} radii for ${set.length} vectors`);
  let inside = 0;
  for (const q of queries) {
    for (let j = 0; j < set.length; j++) {
      if (descriptorDistance(q, set[j]) <= radii[j]) {
        inside++;
        break;
      }
    }
  }
  return inside / queries.length;
}

/** Density and coverage of `generated` against the balls of `real` (radii from kthNeighbourRadii). */
export function densityCoverage(
  generated: readonly ArrayLike<number>[],
  real: readonly ArrayLike<number>[],
  realRadii: Float64Array,
  k: number,
): { density: number; coverage: number } {
  if (generated.length === 0) throw new Error('densityCoverage: no generated vectors');
  if (realRadii.length !== real.length) throw new Error(`densityCoverage: ${realRadii.length} radii for ${real.length} vectors`);
  let inBalls = 0;
  let covered = 0;
  for (let i = 0; i < real.length; i++) {
    let holds = 0;
    for (const g of generated) if (descriptorDistance(g, real[i]) <= realRadii[i]) holds++;
    inBalls += holds;
    if (holds > 0) covered++;
  }
  return { density: inBalls / (k * generated.length), coverage: covered / real.length };
}

/**
 * Precision, recall, density and coverage of `generated` against `real` (each more than k
 * vectors of one length).
 */
export function precisionRecall(generated: readonly ArrayLike<number>[], real: readonly ArrayLike<number>[], k: number = PRECISION_RECALL_K): PrecisionRecall {
  const dims = new Set([...generated, ...real].map((v) => v.length));
  if (dims.size > 1) throw new Error(`precisionRecall: vectors of different lengths (${[...dims].join(', ')})`);
  const realRadii = kthNeighbourRadii(real, k);
  return {
    precision: shareInsideManifold(generated, real, realRadii),
    recall: shareInsideManifold(real, generated, kthNeighbourRadii(generated, k)),
    ...densityCoverage(generated, real, realRadii, k),
    k,
    counts: [generated.length, real.length],
  };
}
