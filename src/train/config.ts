/**
 * `pulse train` settings as one typed object with documented defaults. The defaults are
 * sized for a 2-core CPU: a 64 px StyleGAN (v1, the architecture PULSE searches) with
 * narrow layers, trained for hours, not days.
 */
import { DEFAULT_MAPPING_CONFIG, type SynthesisArchitecture } from '../stylegan/config.js';
import { isPowerOfTwo } from '../util/power-of-two.js';
import { parseAugmentPolicy } from './augment.js';
import { VISION_BACKBONES, type VisionBackbone } from './vision-discriminator.js';

export interface TrainConfig {
  /** Output side of the generator. */
  readonly resolution: number;
  /** Width rule nf(stage) = min(fmapBase / 2^stage, fmapMax), shared by G and D. */
  readonly fmapBase: number;
  readonly fmapMax: number;
  /** Images per step. */
  readonly batchSize: number;
  /** Adam learning rates (StyleGAN: 0.001-0.002 with equalised lr). */
  readonly lrG: number;
  readonly lrD: number;
  /** Adam betas (StyleGAN: 0 and 0.99) and epsilon. */
  readonly beta1: number;
  readonly beta2: number;
  readonly adamEps: number;
  /** R1 penalty weight gamma; StyleGAN2-ADA's heuristic is 0.0002 * res^2 / batch. */
  readonly r1Gamma: number;
  /** Lazy regularisation: R1 every this many steps, scaled up by the same factor. */
  readonly r1Interval: number;
  /** Generator EMA half-life in images (StyleGAN2: 10k), ramped up over the first images seen. */
  readonly emaHalfLifeImages: number;
  /** The half-life is at most this fraction of the images seen so far (StyleGAN2-ADA: 0.05). */
  readonly emaRampup: number;
  /** Probability of style mixing regularisation (StyleGAN: 0.9). */
  readonly styleMixingProb: number;
  /**
   * Minibatch-stddev group size: D's last block sees the standard deviation of its features over
   * each group of this many images, its cue to a batch that varies too little (Karras et al.
   * 2018). StyleGAN: 4; StyleGAN2-ADA's CIFAR setting: 32. Must divide batchSize (or exceed it:
   * then the whole batch is one group). A branch may change it (D's weights keep their shapes).
   */
  readonly mbstdGroup: number;
  /** Stop after this many real images shown to D. */
  readonly totalImages: number;
  /** Write a resumable checkpoint every this many steps. */
  readonly checkpointEvery: number;
  /** Write a sample grid (fixed latents, EMA generator) every this many steps. */
  readonly sampleEvery: number;
  /** Append a log line every this many steps. */
  readonly logEvery: number;
  /**
   * Differentiable augmentation of everything D sees (augment.ts): "none" or any of
   * "color,translation,cutout" (DiffAugment's policy). Checkpoints written before this option
   * existed resume with "none", as they were trained.
   */
  readonly augment: string;
  /** Seed of every random draw (init, latents, noise, batches). */
  readonly seed: number;
  /**
   * Progressive growing (growing.ts, StyleGAN v1): the first training resolution (8 to
   * `resolution`), doubled every 2 x growPhaseImages; null (default) trains at full resolution
   * from the start. Checkpoints written before this option existed resume with null.
   */
  readonly growFrom: number | null;
  /** Growing: real images per phase (train a resolution, then fade in the next). v1: 600,000. */
  readonly growPhaseImages: number;
  /**
   * How G forms its image (stylegan/config.ts): 'orig' (default), v1's single toRGB, the network
   * the official PULSE code searches; 'skip', StyleGAN2's skip outputs (a toRGB per block,
   * summed). Checkpoints written before this option existed resume with 'orig'.
   */
  readonly architecture: SynthesisArchitecture;
  /**
   * The finest noise maps G is trained with: layers whose maps are larger get zeros, so their
   * noise strengths keep their initial 0 and the exported model adds no noise there (PULSE's
   * noise inputs in those layers then change nothing). null (default): noise in every layer, as
   * StyleGAN. An arm against identity drawn from fine noise (docs/training.md, Session 16).
   * Checkpoints written before this option existed resume with null.
   */
  readonly noiseMaxSide: number | null;
  /**
   * A vision-aided discriminator beside D (vision-discriminator.ts, Kumari et al. 2022): a
   * trainable head on a frozen pretrained network's features. 'none' (default): D alone;
   * 'age-gender': face-api's age and gender net (face-features.ts), the one face network the
   * measures do not use. Checkpoints written before this option existed resume with 'none'; a
   * branch may switch it on (the head then starts from its initialisation).
   */
  readonly visionAided: VisionBackbone;
  /** Weight of the vision-aided losses in D's and G's objectives (the paper's code: 1). */
  readonly visionWeight: number;
  /**
   * Weight of a mode-seeking term in G's loss (mode-seeking.ts, Mao et al. 2019, measured in the
   * frozen age and gender net's features); 0 (default): none. Checkpoints written before this
   * option existed resume with 0; a branch may change it.
   */
  readonly modeSeeking: number;
  /**
   * The mapping network's learning rate as a fraction of G's. StyleGAN trains it at 0.01 x
   * (Karras et al. 2019, appendix C; the architecture's lrMul, stylegan/config.ts), sized for
   * runs of millions of images: over the ~100,000 images a run sees here the mapping stays within
   * 0.2% of its initialisation (docs/training.md, Session 19). A larger value scales its Adam
   * steps only; its weights keep the architecture's parametrisation, so the exported model is the
   * same network. Checkpoints written before this option existed resume with 0.01; a branch may
   * change it.
   */
  readonly mappingLrMul: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  resolution: 64,
  fmapBase: 2048,
  fmapMax: 256,
  batchSize: 16,
  lrG: 0.002,
  lrD: 0.002,
  beta1: 0,
  beta2: 0.99,
  adamEps: 1e-8,
  r1Gamma: (0.0002 * 64 * 64) / 16,
  r1Interval: 16,
  emaHalfLifeImages: 10_000,
  emaRampup: 0.05,
  styleMixingProb: 0.9,
  mbstdGroup: 4,
  totalImages: 2_000_000,
  checkpointEvery: 100,
  sampleEvery: 250,
  logEvery: 5,
  augment: 'none',
  seed: 1,
  growFrom: null,
  growPhaseImages: 6_000,
  architecture: 'orig',
  noiseMaxSide: null,
  visionAided: 'none',
  visionWeight: 1,
  modeSeeking: 0,
  mappingLrMul: DEFAULT_MAPPING_CONFIG.lrMul,
};

export function resolveTrainConfig(partial: Partial<TrainConfig>): TrainConfig {
  const c = { ...DEFAULT_TRAIN_CONFIG, ...partial };
  if (partial.resolution !== undefined && partial.r1Gamma === undefined) {
    (c as { r1Gamma: number }).r1Gamma = (0.0002 * c.resolution ** 2) / c.batchSize;
  }
  for (const k of ['growPhaseImages', 'batchSize', 'r1Interval', 'mbstdGroup', 'totalImages', 'checkpointEvery', 'sampleEvery', 'logEvery'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new Error(`train option ${k}=${c[k]} must be a positive integer`);
  }
  if (c.batchSize % Math.min(c.mbstdGroup, c.batchSize) !== 0) {
    throw new Error(`train option batchSize=${c.batchSize} must be a multiple of mbstdGroup=${c.mbstdGroup}: choose a group that divides the batch (--mbstd-group)`);
  }
  parseAugmentPolicy(c.augment);
  if (c.growFrom !== null && !(isPowerOfTwo(c.growFrom) && c.growFrom >= 8 && c.growFrom <= c.resolution)) {
    throw new Error(`train option growFrom=${c.growFrom} must be a power of two from 8 to the resolution ${c.resolution} (or null: no growing)`);
  }
  if (c.architecture !== 'orig' && c.architecture !== 'skip') {
    throw new Error(`train option architecture=${String(c.architecture)} must be 'orig' (v1's single toRGB) or 'skip' (a toRGB per block)`);
  }
  if (c.architecture === 'skip' && c.growFrom !== null) {
    throw new Error(`train option growFrom=${c.growFrom} needs architecture 'orig': skip outputs replace progressive growing (StyleGAN2), use one or the other`);
  }
  if (c.noiseMaxSide !== null && !(isPowerOfTwo(c.noiseMaxSide) && c.noiseMaxSide >= 4 && c.noiseMaxSide <= c.resolution)) {
    throw new Error(`train option noiseMaxSide=${c.noiseMaxSide} must be a power of two from 4 to the resolution ${c.resolution} (or null: noise in every layer)`);
  }
  if (!(VISION_BACKBONES as readonly string[]).includes(c.visionAided)) {
    throw new Error(`train option visionAided=${String(c.visionAided)} must be one of ${VISION_BACKBONES.join(', ')}`);
  }
  if (!(c.visionWeight >= 0)) throw new Error(`train option visionWeight=${c.visionWeight} must be >= 0`);
  if (!(c.modeSeeking >= 0)) throw new Error(`train option modeSeeking=${c.modeSeeking} must be >= 0 (0: no mode-seeking term)`);
  if (c.modeSeeking > 0 && c.batchSize % 2 !== 0) throw new Error(`train option modeSeeking pairs each batch's halves; batchSize=${c.batchSize} must be even`);
  if (!(c.r1Gamma >= 0)) throw new Error(`train option r1Gamma=${c.r1Gamma} must be >= 0`);
  for (const k of ['lrG', 'lrD', 'emaHalfLifeImages', 'mappingLrMul'] as const) {
    if (!(c[k] > 0)) throw new Error(`train option ${k}=${c[k]} must be > 0`);
  }
  return c;
}
