/**
 * StyleGAN v1 architecture, as PULSE uses it (the official `G_synthesis`/`G_mapping`).
 * Widths follow StyleGAN's rule nf(stage) = min(fmapBase / 2^(stage * fmapDecay), fmapMax).
 */
import { isPowerOfTwo } from '../util/power-of-two.js';

export interface SynthesisConfig {
  /** Output side in pixels, a power of two >= 4. PULSE's published model: 1024. */
  readonly resolution: number;
  /** Overall multiplier for the number of feature maps. Published model: 8192. */
  readonly fmapBase: number;
  /** log2 feature-map reduction when doubling the resolution. Published model: 1. */
  readonly fmapDecay: number;
  /** Maximum number of feature maps in any layer. Published model: 512. */
  readonly fmapMax: number;
  /** Width of the disentangled latent w. Always 512 in StyleGAN v1. */
  readonly dlatentSize: number;
  /** Output colour channels. */
  readonly numChannels: number;
  /** How the image is formed; absent means 'orig' (see SynthesisArchitecture). */
  readonly architecture?: SynthesisArchitecture;
}

/**
 * 'orig': StyleGAN v1's single toRGB on the last block, what the official PULSE code computes
 * (every published and parity model). 'skip': StyleGAN2's skip outputs (Karras et al. 2020,
 * `architecture='skip'`): every block has its own toRGB, and the image is the sum of their
 * outputs, each coarser one upsampled 2x bilinearly and added to the next. Everything else
 * (mapping, styles, noise, convolutions) is v1's, so a PULSE search over w and noise is the same
 * search; only the last step from feature maps to pixels adds the lower blocks' colours.
 */
export type SynthesisArchitecture = 'orig' | 'skip';

export function architectureOf(cfg: SynthesisConfig): SynthesisArchitecture {
  return cfg.architecture ?? 'orig';
}

export const DEFAULT_SYNTHESIS_CONFIG: SynthesisConfig = {
  resolution: 1024,
  fmapBase: 8192,
  fmapDecay: 1,
  fmapMax: 512,
  dlatentSize: 512,
  numChannels: 3,
};

export interface MappingConfig {
  /** Width of z and of every hidden layer. */
  readonly latentSize: number;
  /** Width of w. */
  readonly dlatentSize: number;
  /** Number of dense layers. StyleGAN v1: 8. */
  readonly numLayers: number;
  /** Learning-rate multiplier of the dense layers (equalised lr). StyleGAN v1: 0.01. */
  readonly lrMul: number;
}

export const DEFAULT_MAPPING_CONFIG: MappingConfig = { latentSize: 512, dlatentSize: 512, numLayers: 8, lrMul: 0.01 };

export function log2Resolution(resolution: number): number {
  if (!isPowerOfTwo(resolution) || resolution < 4) {
    throw new Error(`resolution ${resolution} is not a power of two >= 4 (e.g. 64, 256, 1024)`);
  }
  return Math.round(Math.log2(resolution));
}

/** Number of style inputs (and of noise inputs): 2 per resolution from 4x4 up; 18 at 1024 px. */
export function numLayers(resolution: number): number {
  return 2 * log2Resolution(resolution) - 2;
}

/** Feature maps at a stage (StyleGAN's nf). */
export function featureMaps(cfg: SynthesisConfig, stage: number): number {
  return Math.min(Math.floor(cfg.fmapBase / 2 ** (stage * cfg.fmapDecay)), cfg.fmapMax);
}

/** Channels of each synthesis block, 4x4 first. */
export function blockChannels(cfg: SynthesisConfig): number[] {
  const top = log2Resolution(cfg.resolution);
  const out: number[] = [];
  for (let res = 2; res <= top; res++) out.push(featureMaps(cfg, res - 1));
  return out;
}

/** Floats in the synthesis network's largest feature map of one image (side^2 x channels over its blocks). */
export function largestMapFloats(cfg: SynthesisConfig): number {
  return Math.max(...blockChannels(cfg).map((channels, i) => 4 ** (i + 2) * channels));
}

/** Side of noise map `layer` (0-based): 4, 4, 8, 8, 16, ... */
export function noiseSide(layer: number): number {
  return 2 ** (Math.floor(layer / 2) + 2);
}

export function blockName(index: number): string {
  const s = 2 ** (index + 2);
  return `${s}x${s}`;
}
