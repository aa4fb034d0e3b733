/**
 * The first conv of every block above 4x4 (official `conv0_up`): 2x nearest upscale, 3x3
 * equalised conv, the [1, 2, 1] blur (a buffer `intermediate.kernel`, never trained), then the
 * bias. From an output side of 128 up the official code fuses upscale and conv into one
 * stride-2 transposed conv, which rounds differently, so that path is kept as well.
 */
import * as tf from '@tensorflow/tfjs-core';
import { upscale2x } from '../layers.js';
import { type ParamDecl, ZEROS, convWeight, vector } from '../param-decl.js';
import type { Weights } from '../weights.js';
import { linearOps, subPixelFilters } from '../frozen-ops.js';
import { inputGradientFilter } from '../conv-input-gradient.js';
import type { SynthesisLayer } from './synthesis-layer.js';

const BLUR = Float32Array.from([1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16));

/** The official switch to the fused upscale + conv. */
const FUSED_FROM_SIDE = 128;

/**
 * The official fused "upscale + conv" kernel: the 3x3 kernel summed over its four 1-pixel
 * shifts into a 4x4 kernel for a stride-2 transposed conv.
 * [3, 3, in, out] -> conv2dTranspose filter [4, 4, out, in].
 */
export function fusedUpscaleFilter(filter: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , inp, out] = filter.shape;
    const p = tf.pad(filter, [[1, 1], [1, 1], [0, 0], [0, 0]]);
    const win = (y: number, x: number) => tf.slice(p, [y, x, 0, 0], [4, 4, inp, out]);
    const sum = tf.addN([win(0, 0), win(1, 0), win(0, 1), win(1, 1)]);
    return tf.transpose(sum, [0, 1, 3, 2]) as tf.Tensor4D;
  });
}

/** What the forward derives from the weights alone: the depthwise blur filter and, when fused, the 4x4 kernel. */
interface UpscaleFilters {
  readonly blur: tf.Tensor4D;
  readonly fused?: tf.Tensor4D;
}

/** What a search's frozen ops also read (frozen-ops.ts): derived once by prepare(). */
interface FrozenDerived {
  /** The blur's backward filter (the blur reversed in space). */
  readonly blurReversed: tf.Tensor4D;
  /** Below FUSED_FROM_SIDE: the 3x3 conv's input-gradient filter. */
  readonly gradientFilter?: tf.Tensor4D;
  /** From FUSED_FROM_SIDE up: the sub-pixel filters of the 4x4 kernel. */
  readonly subPixel?: readonly tf.Tensor4D[];
}

export class UpscaleConv implements SynthesisLayer {
  readonly weight: ParamDecl;
  readonly bias: ParamDecl;
  readonly blurKernel: ParamDecl;
  readonly params: readonly ParamDecl[];
  private readonly outChannels: number;
  private readonly fused: boolean;
  /** Inference only: the filters computed once by prepare(). */
  private prepared?: UpscaleFilters & FrozenDerived;

  /** `name` is the module's official name (`blocks.SxS.conv0_up`); `outSide` the side it produces. */
  constructor(name: string, inChannels: number, outChannels: number, outSide: number) {
    this.weight = convWeight(`${name}.weight`, outChannels, inChannels, 3, Math.SQRT2);
    this.bias = vector(`${name}.bias`, outChannels, ZEROS);
    this.blurKernel = { name: `${name}.intermediate.kernel`, shape: [1, 1, 3, 3], layout: 'plain', scale: 1, trainable: false, init: { kind: 'values', values: BLUR } };
    this.params = [this.weight, this.bias, this.blurKernel];
    this.outChannels = outChannels;
    this.fused = outSide >= FUSED_FROM_SIDE;
  }

  private filters(weights: Weights): UpscaleFilters {
    const c = this.outChannels;
    const blur = tf.tile(tf.reshape(weights.get(this.blurKernel.name), [3, 3, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const fused = this.fused ? fusedUpscaleFilter(weights.get(this.weight.name)) : undefined;
    return { blur, fused };
  }

  prepare(weights: Weights): void {
    const { blur, fused } = this.filters(weights);
    const blurReversed = tf.reverse(blur, [0, 1]) as tf.Tensor4D;
    const subPixel = fused ? subPixelFilters(fused) : undefined;
    const gradientFilter = fused ? undefined : inputGradientFilter(weights.get(this.weight.name) as tf.Tensor4D);
    this.prepared = { blur, fused, blurReversed, gradientFilter, subPixel };
    this.preparedTensors().forEach((t) => tf.keep(t));
  }

  private preparedTensors(): tf.Tensor[] {
    if (!this.prepared) return [];
    const { blur, fused, blurReversed, gradientFilter, subPixel } = this.prepared;
    return [blur, blurReversed, ...(fused ? [fused] : []), ...(gradientFilter ? [gradientFilter] : []), ...(subPixel ?? [])];
  }

  forward(x: tf.Tensor4D, weights: Weights): tf.Tensor4D {
    // Trained weights change every step, so the filters are rebuilt inside the forward (and differentiated).
    const k: UpscaleFilters & Partial<FrozenDerived> = weights.trainable ? this.filters(weights) : this.prepared!;
    const ops = linearOps(weights.trainable);
    let y: tf.Tensor4D;
    if (k.fused) {
      const [n, h, w] = x.shape;
      y = ops.convTranspose(x, k.fused, [n, 2 * h, 2 * w, this.outChannels], k.subPixel);
    } else {
      y = ops.conv(upscale2x(x), weights.get(this.weight.name) as tf.Tensor4D, 'same', k.gradientFilter);
    }
    return ops.addBias(ops.blur(y, k.blur, k.blurReversed), weights.get(this.bias.name));
  }

  dispose(): void {
    tf.dispose(this.preparedTensors());
    this.prepared = undefined;
  }
}
