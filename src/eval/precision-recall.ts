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
 */

import { descriptorDistance } from './descriptor-distance.js';

/** The paper's neighbourhood size. */
export const PRECISION_RECALL_K = 3;

export interface PrecisionRecall {
  /** Share of generated vectors inside the real manifold. */
  readonly precision: number;
  /** Share of real vectors inside the generated manifold. */
  readonly recall: number;
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

/** Precision and recall of `generated` against `real` (each more than k vectors of one length). */
export function precisionRecall(generated: readonly ArrayLike<number>[], real: readonly ArrayLike<number>[], k: number = PRECISION_RECALL_K): PrecisionRecall {
  const dims = new Set([...generated, ...real].map((v) => v.length));
  if (dims.size > 1) throw new Error(`precisionRecall: vectors of different lengths (${[...dims].join(', ')})`);
  return {
    precision: shareInsideManifold(generated, real, kthNeighbourRadii(real, k)),
    recall: shareInsideManifold(real, generated, kthNeighbourRadii(generated, k)),
    k,
    counts: [generated.length, real.length],
  };
}
