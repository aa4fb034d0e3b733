/**
 * The first conv of every block above 4x4 (official `conv0_up`): 2x nearest upscale, 3x3
 * equalised conv, the [1, 2, 1] blur (a buffer `intermediate.kernel`, never trained), then the
 * bias. From an output side of 128 up the official code fuses upscale and conv into one
 * stride-2 transposed conv, which rounds differently, so that path is kept as well.
 *
 * A search (frozen weights) takes the fused form at every side: it is the same linear map
 * (the 4x4 kernel sums the 3x3 kernel, reversed, over the four positions a nearest-upscaled
 * pixel covers), computed as four 2x2 sub-pixel convolutions of the small input, 16 multiply-adds
 * per input pixel and channel pair, where the upscale and 3x3 conv take 36, forward and
 * backward alike. Below 128 px it rounds differently from the official unfused ops, by about
 * as much as the frozen ops' reordered sums do (the parity cases judge it). Training keeps the
 * official form. An epilogue always follows it: in a search where the native epilogue runs, that
 * epilogue adds this bias (synthesis-layers.ts; layers.ts, epilogueTakesConvBias).
 */
import * as tf from '@tensorflow/tfjs-core';
import { epilogueTakesConvBias, upscale2x } from '../layers.js';
import { type ParamDecl, ZEROS, convWeight, vector } from '../param-decl.js';
import type { Weights } from '../weights.js';
import { linearOps, subPixelFilters, upscaleConvWinogradFrozen } from '../frozen-ops.js';
import { winogradUpscaleFilter, winogradUpscaleSupports } from '../../backend/winograd-addon.js';
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
    // Outside a gradient's recording (a search's prepare()) each window is freed once added:
    // the four windows alive at once were 67 MB per 512-channel layer at load, kept by the
    // allocator afterwards. Added one at a time in the official order, ((a + b) + c) + d, the
    // order TensorFlow's AddN of four sums in, so the bits are the same.
    const lean = !tf.engine().state.gradientDepth;
    const p = tf.pad(filter, [[1, 1], [1, 1], [0, 0], [0, 0]]);
    const win = (y: number, x: number) => tf.slice(p, [y, x, 0, 0], [4, 4, inp, out]);
    let sum = win(0, 0);
    for (const [y, x] of [[1, 0], [0, 1], [1, 1]]) {
      const w = win(y, x);
      const next = tf.add(sum, w);
      if (lean) tf.dispose([sum, w]);
      sum = next;
    }
    if (lean) p.dispose();
    return tf.transpose(sum, [0, 1, 3, 2]) as tf.Tensor4D;
  });
}

/**
 * The stride-2 transposed-conv filter [4, 4, out, in] equal to a 2x nearest upscale followed by
 * a 'same' 3x3 conv by `filter` [3, 3, in, out]. A transposed conv correlates with its kernel
 * reversed, so the 3x3 kernel is reversed before the fusing. In 1-D: upscale + conv gives
 * y[2m] = w0 x[m-1] + (w1 + w2) x[m]; the fused kernel of (w2, w1, w0) is
 * K = (w2, w1 + w2, w0 + w1, w0), whose transposed conv gives y[2m] = K3 x[m-1] + K1 x[m].
 */
export function upscaleConvAsTransposed(filter: tf.Tensor): tf.Tensor4D {
  return tf.tidy(() => {
    const reversed = tf.reverse(filter, [0, 1]);
    const fused = fusedUpscaleFilter(reversed);
    reversed.dispose();
    return fused;
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
  /** TensorFlow's ops: the fused 4x4 kernel (the backward's strided conv reads it) at every side... */
  readonly searchFused?: tf.Tensor4D;
  /** ...and its sub-pixel filters (the forward). */
  readonly subPixel?: readonly tf.Tensor4D[];
  /** Or, where the Winograd ops run (backend/winograd-addon.ts), the sub-pixel filters in their domain: both passes read it. */
  readonly winograd?: tf.Tensor;
}

export class UpscaleConv implements SynthesisLayer {
  readonly weight: ParamDecl;
  readonly bias: ParamDecl;
  readonly blurKernel: ParamDecl;
  readonly params: readonly ParamDecl[];
  private readonly outChannels: number;
  private readonly fused: boolean;
  private readonly outSide: number;
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
    this.outSide = outSide;
  }

  private filters(weights: Weights): UpscaleFilters {
    const c = this.outChannels;
    const blur = tf.tile(tf.reshape(weights.get(this.blurKernel.name), [3, 3, 1, 1]), [1, 1, c, 1]) as tf.Tensor4D;
    const fused = this.fused ? fusedUpscaleFilter(weights.get(this.weight.name)) : undefined;
    return { blur, fused };
  }

  prepare(weights: Weights): readonly string[] {
    this.dispose();
    const { blur, fused } = this.filters(weights);
    const blurReversed = tf.reverse(blur, [0, 1]) as tf.Tensor4D;
    const filter = weights.get(this.weight.name);
    const searchFused = fused ?? upscaleConvAsTransposed(filter);
    const subPixel = subPixelFilters(searchFused);
    if (winogradUpscaleSupports(filter.shape[2] as number, this.outChannels, this.outSide / 2)) {
      // The Winograd filter replaces both: the backward reads it too.
      const winograd = winogradUpscaleFilter(subPixel);
      tf.dispose([searchFused, ...subPixel]);
      this.prepared = { blur, blurReversed, winograd };
    } else this.prepared = { blur, fused, blurReversed, searchFused, subPixel };
    this.preparedTensors().forEach((t) => tf.keep(t));
    // A search's forward reads only what was derived here (the 3x3 weight's fused or Winograd forms).
    return [this.weight.name];
  }

  private preparedTensors(): tf.Tensor[] {
    if (!this.prepared) return [];
    const { blur, blurReversed, searchFused, subPixel, winograd } = this.prepared;
    return [blur, blurReversed, ...(searchFused ? [searchFused] : []), ...(subPixel ?? []), ...(winograd ? [winograd] : [])];
  }

  forward(x: tf.Tensor4D, weights: Weights): tf.Tensor4D {
    const [n, h, w] = x.shape;
    const outShape: [number, number, number, number] = [n, 2 * h, 2 * w, this.outChannels];
    if (!weights.trainable) {
      const k = this.prepared!;
      const ops = linearOps(false);
      const y = k.winograd ? upscaleConvWinogradFrozen(x, k.winograd) : ops.convTranspose(x, k.searchFused!, outShape, k.subPixel);
      const blurred = ops.blur(y, k.blur, k.blurReversed);
      // The epilogue after it adds the bias in its own first pass where it can.
      return epilogueTakesConvBias(false) ? blurred : ops.addBias(blurred, weights.get(this.bias.name));
    }
    // Trained weights change every step, so the filters are rebuilt inside the forward (and differentiated).
    const k = this.filters(weights);
    const ops = linearOps(true);
    const y = k.fused ? ops.convTranspose(x, k.fused, outShape) : ops.conv(upscale2x(x), weights.get(this.weight.name) as tf.Tensor4D, 'same');
    return ops.addBias(ops.blur(y, k.blur), weights.get(this.bias.name));
  }

  dispose(): void {
    tf.dispose(this.preparedTensors());
    this.prepared = undefined;
  }
}
