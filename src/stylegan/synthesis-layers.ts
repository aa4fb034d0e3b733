/**
 * The official `G_synthesis` as a list of layers built from the config, in official
 * state-dict order: per block (4x4 first) an input (the constant, or the upscale conv),
 * epilogue 1, a 3x3 conv, epilogue 2; then toRGB. With skip outputs (config.ts) every block
 * below the last has a toRGB of its own too, declared after the official tensors. Every
 * parameter of the network is one a layer declares here.
 */
import { type SynthesisConfig, architectureOf, blockChannels, blockName } from './config.js';
import { ConstInput } from './modules/const-input.js';
import { EqualizedConv2d } from './modules/equalized-conv.js';
import { StyledEpilogue } from './modules/styled-epilogue.js';
import type { SynthesisLayer } from './modules/synthesis-layer.js';
import { UpscaleConv } from './modules/upscale-conv.js';
import type { ParamDecl } from './param-decl.js';

export interface SynthesisLayers {
  /** The 4x4 constant: the first activation, before any layer. */
  readonly input: ConstInput;
  /** Everything after it, applied in order. */
  readonly layers: readonly SynthesisLayer[];
  /** Where each block ends: block i is layers[blockEnds[i - 1] ?? 0 .. blockEnds[i]); toRGB follows the last. */
  readonly blockEnds: readonly number[];
  /** Skip outputs only: the toRGB of each block below the last (4x4 first); empty for 'orig'. */
  readonly skipToRgb: readonly EqualizedConv2d[];
}

/** The toRGB of a block below the last, for skip outputs: `torgb.<side>x<side>.weight` and `.bias`. */
export function skipToRgbName(block: number): string {
  return `torgb.${blockName(block)}`;
}

export function synthesisLayers(cfg: SynthesisConfig): SynthesisLayers {
  const channels = blockChannels(cfg);
  const d = cfg.dlatentSize;
  const input = new ConstInput('blocks.4x4', channels[0]);
  const layers: SynthesisLayer[] = [];
  const blockEnds: number[] = [];
  channels.forEach((c, i) => {
    const p = `blocks.${blockName(i)}`;
    const [style1, style2] = [2 * i, 2 * i + 1];
    // Block 0 names its conv `conv`, the others `conv1` (after `conv0_up`), as the official modules do.
    // In a search each conv's bias is added by the epilogue after it (layers.ts, epilogueTakesConvBias).
    if (i > 0) layers.push(new UpscaleConv(`${p}.conv0_up`, channels[i - 1], c, 2 ** (i + 2)));
    layers.push(new StyledEpilogue(`${p}.epi1`, style1, c, d, i > 0 ? `${p}.conv0_up.bias` : undefined));
    const conv = i === 0 ? `${p}.conv` : `${p}.conv1`;
    layers.push(new EqualizedConv2d(conv, c, c, { kernel: 3, gain: Math.SQRT2, padding: 'same', side: 2 ** (i + 2), biasToEpilogue: true }));
    layers.push(new StyledEpilogue(`${p}.epi2`, style2, c, d, `${conv}.bias`));
    blockEnds.push(layers.length);
  });
  const toRgb = (name: string, inChannels: number) => new EqualizedConv2d(name, inChannels, cfg.numChannels, { kernel: 1, gain: 1, padding: 'valid' });
  layers.push(toRgb('torgb', channels[channels.length - 1]));
  const skipToRgb = architectureOf(cfg) === 'skip' ? channels.slice(0, -1).map((c, i) => toRgb(skipToRgbName(i), c)) : [];
  return { input, layers, blockEnds, skipToRgb };
}

/** Every parameter of the synthesis network, in official state-dict order (skip toRGBs last). */
export function synthesisParams(cfg: SynthesisConfig): ParamDecl[] {
  const { input, layers, skipToRgb } = synthesisLayers(cfg);
  return [...input.params, ...layers.flatMap((l) => l.params), ...skipToRgb.flatMap((l) => l.params)];
}
