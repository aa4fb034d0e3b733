/**
 * Identity and diversity measures of super-resolved faces, from the 128-d face descriptors of
 * src/eval/face-analysis.ts (@vladmandic/face-api's dlib-style ResNet; FACE_PROTOCOL: resized to
 * 160 px, grey border, SSD detection, 68 landmarks, aligned chip, descriptor).
 *
 * Identity distance: the Euclidean distance between the descriptor of an SR output and that of
 * its HR original. "Same person" means distance < SAME_PERSON_THRESHOLD = 0.6, face-api's (and
 * dlib's) decision threshold; on LFW as used here, ../shared/GUIDE.md measured 0.45-0.60 for two
 * photos of the same person and 0.79-0.90 for different people. The share of outputs under the
 * threshold measures how often a method keeps the person's identity. PULSE does not claim to:
 * it finds *a* plausible face that downscales to the input, and different seeds give different
 * people; a low share is by design, and the number makes that claim measurable.
 *
 * When no face is found in the SR output, the distance is null and the output does not count as
 * the same person (samePerson false: nobody can be recognised in it); when none is found in the
 * HR, both are null (there is no identity to compare with). The share of outputs with a face
 * is reported beside them.
 *
 * Diversity of the N solutions a method gives for one input (PULSE with several seeds or
 * duplicates): the mean over all pairs of solutions of (a) the descriptor distance (pairs where
 * both faces were found) and (b) the pixel distance, the root mean square difference of the
 * 8-bit images on the [0, 1] scale.
 */
import type { RgbImage } from '../io/image.js';
import { describeFaces, descriptorDistance } from '../eval/face-analysis.js';
import { SAME_PERSON_THRESHOLD } from '../eval/descriptor-distance.js';

/** face-api's same-person threshold (see the module comment for the distances measured on LFW). */
export { SAME_PERSON_THRESHOLD };

export interface IdentityResult {
  /** Descriptor distance SR vs HR, or null when a face is missing in either. */
  readonly distance: number | null;
  /** distance < SAME_PERSON_THRESHOLD; false when no face is found in the SR output; null when none is in the HR. */
  readonly samePerson: boolean | null;
  readonly srFound: boolean;
  readonly hrFound: boolean;
}

/** Compares an SR output's descriptor with its HR's (either may be null: no face found). */
export function compareIdentity(sr: Float32Array | null, hr: Float32Array | null, threshold = SAME_PERSON_THRESHOLD): IdentityResult {
  const distance = sr && hr ? descriptorDistance(sr, hr) : null;
  const samePerson = hr === null ? null : distance === null ? false : distance < threshold;
  return { distance, samePerson, srFound: sr !== null, hrFound: hr !== null };
}

/** Descriptors of images (null where no face is found), with FACE_PROTOCOL. */
export function describe(images: readonly RgbImage[]): Promise<(Float32Array | null)[]> {
  return describeFaces(images);
}

/** Root mean square difference of two 8-bit images, on the [0, 1] scale. */
export function pixelDistance(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`images have ${a.length} and ${b.length} values`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length) / 255;
}

/** Mean of `dist` over all unordered pairs for which it is not null; null without such pairs. */
export function meanPairwise<T>(items: readonly T[], dist: (a: T, b: T) => number | null): { mean: number | null; pairs: number } {
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const d = dist(items[i], items[j]);
      if (d !== null && Number.isFinite(d)) {
        sum += d;
        pairs++;
      }
    }
  }
  return { mean: pairs ? sum / pairs : null, pairs };
}

export interface Diversity {
  readonly solutions: number;
  /** Mean pairwise descriptor distance, over pairs where both faces were found. */
  readonly meanDescriptorDistance: number | null;
  readonly descriptorPairs: number;
  /** Mean pairwise RMS pixel distance ([0, 1] scale). */
  readonly meanPixelDistance: number | null;
  readonly pixelPairs: number;
}

/** Diversity of the solutions for one input (see the module comment). */
export function diversity(solutions: readonly { descriptor: Float32Array | null; pixels: Uint8Array }[]): Diversity {
  const d = meanPairwise(solutions, (a, b) => (a.descriptor && b.descriptor ? descriptorDistance(a.descriptor, b.descriptor) : null));
  const p = meanPairwise(solutions, (a, b) => pixelDistance(a.pixels, b.pixels));
  return { solutions: solutions.length, meanDescriptorDistance: d.mean, descriptorPairs: d.pairs, meanPixelDistance: p.mean, pixelPairs: p.pairs };
}
