/**
 * face-api's same-person threshold on the descriptor distance (src/benchmark/identity.ts gives
 * the distances measured on LFW).
 */
export const SAME_PERSON_THRESHOLD = 0.6;

/** Euclidean distance between two face descriptors (face-api: < SAME_PERSON_THRESHOLD means the same person). */
export function descriptorDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`descriptors have ${a.length} and ${b.length} values`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}
