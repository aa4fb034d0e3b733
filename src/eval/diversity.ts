/**
 * Diversity of a set of faces: the mean Euclidean distance between the 128-d face descriptors
 * of every pair. A collapsed generator (every sample one person) scores near the same-person
 * distance (0.45-0.60 on LFW, GUIDE.md); real faces of many people score near the
 * different-person distance (0.79-0.90). Compared with the same measure on real faces it is
 * the collapse measure of `pulse eval-model`.
 */

/** Mean distance over all unordered pairs; null for fewer than two descriptors. */
export function meanPairwiseDistance(descriptors: readonly Float32Array[]): number | null {
  const n = descriptors.length;
  if (n < 2) return null;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const a = descriptors[i];
    for (let j = i + 1; j < n; j++) {
      const b = descriptors[j];
      if (b.length !== a.length) throw new Error(`descriptor ${j} has ${b.length} values, descriptor ${i} has ${a.length}`);
      let s = 0;
      for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) ** 2;
      sum += Math.sqrt(s);
    }
  }
  return sum / ((n * (n - 1)) / 2);
}

export interface DiversityComparison {
  /** Mean pairwise descriptor distance among generated samples. */
  readonly generated: number | null;
  /** The same among the real faces they are compared with. */
  readonly real: number | null;
  /** generated / real (the target: >= 0.9). */
  readonly ratio: number | null;
}

export function compareDiversity(generated: readonly Float32Array[], real: readonly Float32Array[]): DiversityComparison {
  const g = meanPairwiseDistance(generated);
  const r = meanPairwiseDistance(real);
  return { generated: g, real: r, ratio: g !== null && r !== null && r > 0 ? g / r : null };
}
