/**
 * How much each input of the generator moves its faces: the latent z, and the per-pixel noise
 * maps (all of them, the coarse ones of 4-16 px, the fine ones of 32 px and up). For each base
 * face (latent and noise of face seed s) one input at a time is redrawn from another face seed,
 * the rest kept, and the change is measured in pixels (RMS, [0, 1] scale) and in face-descriptor
 * distance (face-api; < 0.6 reads as the same person).
 *
 * In StyleGAN the latent should carry who the face is and the noise only stochastic detail
 * (hair strands, skin: Karras et al. 2019, section 3.2 and figure 4). A generator whose noise
 * moves the descriptor about as far as its latent does draws its identities from the noise, and
 * its samples crowd (docs/training.md, Session 16).
 */
import { SAME_PERSON_THRESHOLD, descriptorDistance } from './descriptor-distance.js';
import { analyzeFaces } from './face-analysis.js';
import { noiseSide } from '../stylegan/config.js';
import type { LoadedModel } from '../model/model.js';
import { sampleFaces } from '../model/sample.js';

/** One input redrawn: which face seed the latent and each noise layer come from. */
export interface InputChange {
  readonly name: string;
  readonly description: string;
  readonly latentRedrawn: boolean;
  /** Whether the noise map of `layer` (its side `side` px) is redrawn. */
  readonly noiseRedrawn: (layer: number, side: number) => boolean;
}

/** Sides up to this are the coarse noise maps. */
export const COARSE_NOISE_MAX_SIDE = 16;

export const INPUT_CHANGES: readonly InputChange[] = Object.freeze([
  { name: 'latent', description: 'the latent z redrawn, every noise map kept', latentRedrawn: true, noiseRedrawn: () => false },
  { name: 'noise', description: 'every noise map redrawn, the latent kept', latentRedrawn: false, noiseRedrawn: () => true },
  {
    name: 'coarse-noise',
    description: `the noise maps up to ${COARSE_NOISE_MAX_SIDE} px redrawn`,
    latentRedrawn: false,
    noiseRedrawn: (_: number, side: number) => side <= COARSE_NOISE_MAX_SIDE,
  },
  {
    name: 'fine-noise',
    description: `the noise maps from ${2 * COARSE_NOISE_MAX_SIDE} px up redrawn`,
    latentRedrawn: false,
    noiseRedrawn: (_: number, side: number) => side > COARSE_NOISE_MAX_SIDE,
  },
]);

export interface InputInfluenceOptions {
  /** Base faces: face seeds seed .. seed + faces - 1. */
  readonly faces: number;
  readonly seed: number;
  /** Redrawn inputs come from face seed base + offset (default 1,000,000: no overlap with the bases). */
  readonly otherOffset?: number;
  /** Also measure descriptor distances (default true). */
  readonly descriptors?: boolean;
  readonly changes?: readonly InputChange[];
}

export interface InputInfluence {
  readonly name: string;
  readonly description: string;
  /** Mean over base faces of the RMS pixel change. */
  readonly pixelRms: number;
  /** Mean descriptor distance to the base face, over pairs where both have a face; null if none. */
  readonly descriptorDistance: number | null;
  /** Pairs with a face in both images. */
  readonly descriptorPairs: number;
  /** Share of those pairs under face-api's same-person threshold 0.6. */
  readonly samePersonShare: number | null;
}

function rms(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

/** One InputInfluence per change, in the order given. */
export async function measureInputInfluence(model: LoadedModel, options: InputInfluenceOptions): Promise<InputInfluence[]> {
  const { faces, seed } = options;
  if (!Number.isInteger(faces) || faces < 1) throw new Error(`faces must be a positive integer; got ${faces}`);
  const offset = options.otherOffset ?? 1_000_000;
  const changes = options.changes ?? INPUT_CHANGES;
  const r = model.synthesis.config.resolution;
  const size = r * r * 3;
  const bases = Array.from({ length: faces }, (_, i) => seed + i);
  const split = (data: Float32Array) => bases.map((_, k) => data.subarray(k * size, (k + 1) * size));
  const baseImages = split(await sampleFaces(model, bases));
  const withDescriptors = options.descriptors ?? true;
  const describe = async (images: Float32Array[]) =>
    withDescriptors ? analyzeFaces(images.map((data) => ({ width: r, height: r, data })), { descriptors: true }) : null;
  const baseFaces = await describe(baseImages);
  const out: InputInfluence[] = [];
  for (const change of changes) {
    // The latent is face seed s's unless redrawn; sampleFaces draws it from the seed it is given,
    // so a redrawn latent is asked for as face s + offset with face s's noise where kept.
    const latentSeeds = bases.map((s) => (change.latentRedrawn ? s + offset : s));
    const images = split(
      await sampleFaces(model, latentSeeds, {
        noiseSeed: (k, layer) => (change.noiseRedrawn(layer, noiseSide(layer)) ? bases[k] + offset : bases[k]),
      }),
    );
    const pixelRms = images.reduce((sum, img, k) => sum + rms(img, baseImages[k]), 0) / faces;
    const changed = await describe(images);
    let total = 0;
    let pairs = 0;
    let same = 0;
    if (baseFaces && changed) {
      for (let k = 0; k < faces; k++) {
        const a = baseFaces[k].descriptor;
        const b = changed[k].descriptor;
        if (!a || !b) continue;
        const d = descriptorDistance(a, b);
        total += d;
        pairs++;
        if (d < SAME_PERSON_THRESHOLD) same++;
      }
    }
    out.push({
      name: change.name,
      description: change.description,
      pixelRms,
      descriptorDistance: pairs > 0 ? total / pairs : null,
      descriptorPairs: pairs,
      samePersonShare: pairs > 0 ? same / pairs : null,
    });
  }
  return out;
}
