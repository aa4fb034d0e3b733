/**
 * The synthesis network's linear ops for a PULSE search, where the weights are constants: the
 * gradient flows to the activation alone, so the backward pass needs no forward tensor at all.
 *
 * tfjs's own conv2d, depthwiseConv2d, conv2dTranspose and add keep their inputs alive until the
 * backward pass (for the weight gradients, or only for shapes, in add's case): at 1024 px that is
 * a 64 MB activation per op that nothing reads again. These keep nothing, and they avoid
 * TensorFlow's slow CPU input-gradient kernels: a conv's input gradient and the transposed conv
 * are computed by forward Conv2D with a filter derived once from the weights (a layer's
 * prepare()). That sums the same products in another order, so values differ from tfjs's ops by
 * float rounding (about 1e-7 relative; test/frozen-ops.test.ts bounds it, the parity cases judge
 * it). Training needs the weight gradients and so keeps each op's inputs: tfjs's ops, with
 * conv2dTrainable (conv-input-gradient.ts) for the convolutions.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dTrainable, hasForwardInputGradient, inputGradientFilter } from './conv-input-gradient.js';
import {
  winogradConv,
  winogradConvInputGradient,
  winogradUpscaleConv,
  winogradUpscaleConvInputGradient,
} from '../backend/winograd-addon.js';

/** x + bias with `bias` constant: nothing kept; the gradient passes through. */
export function addFrozenBias(x: tf.Tensor4D, bias: tf.Tensor): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.add(args[0] as tf.Tensor, bias) as tf.Tensor4D,
    gradFunc: (dy: tf.Tensor) => [tf.clone(dy)],
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * Stride-1 convolution by a constant filter [kh, kw, in, out]. The backward is a forward
 * Conv2D by `gradientFilter` (inputGradientFilter(filter), computed once by the caller, or
 * here per call when absent): TensorFlow's CPU Conv2DBackpropInput runs at 35-250 GFLOP/s on
 * the synthesis network's shapes where Conv2D runs at 230-360 (docs/performance.md).
 */
export function conv2dFrozen(x: tf.Tensor4D, filter: tf.Tensor4D, pad: 'same' | 'valid', gradientFilter?: tf.Tensor4D): tf.Tensor4D {
  const shape = x.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.conv2d(args[0] as tf.Tensor4D, filter, 1, pad),
    gradFunc: (dy: tf.Tensor) => {
      if (!hasForwardInputGradient(filter.shape, pad)) return [tf.conv2dTranspose(dy as tf.Tensor4D, filter, shape, 1, pad)];
      if (gradientFilter) return [tf.conv2d(dy as tf.Tensor4D, gradientFilter, 1, pad)];
      const g = inputGradientFilter(filter);
      const dx = tf.conv2d(dy as tf.Tensor4D, g, 1, pad);
      g.dispose();
      return [dx];
    },
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * A 3x3 'same' stride-1 convolution by a constant filter through the Winograd ops
 * (backend/winograd-addon.ts); `u` is winogradFilter(filter), made once by the layer's prepare().
 * The input gradient is a Winograd convolution of dy by the same `u` read flipped and
 * transposed, so neither pass keeps a tensor. Values differ from Conv2D's by float rounding (the
 * transforms add in another order; test/winograd.test.ts bounds it, the parity cases judge it).
 */
export function conv2dWinogradFrozen(x: tf.Tensor4D, u: tf.Tensor): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: winogradConv(args[0] as tf.Tensor4D, u),
    gradFunc: (dy: tf.Tensor) => [winogradConvInputGradient(dy as tf.Tensor4D, u)],
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * The 2x upscale convolution by constant filters through the Winograd ops: `u` is
 * winogradUpscaleFilter(subPixelFilters(fused filter)), made once by the layer's prepare(); the
 * input gradient reads the same `u`. The same linear map as conv2dTransposeFrozen, rounded
 * differently (test/winograd.test.ts).
 */
export function upscaleConvWinogradFrozen(x: tf.Tensor4D, u: tf.Tensor): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: winogradUpscaleConv(args[0] as tf.Tensor4D, u),
    gradFunc: (dy: tf.Tensor) => [winogradUpscaleConvInputGradient(dy as tf.Tensor4D, u)],
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * The stride-2 transposed convolution by a 4x4 filter [4, 4, out, in] ('same', H -> 2H) as four
 * stride-1 2x2 Conv2Ds, one per output phase, interleaved by depthToSpace (sub-pixel
 * convolution). In one dimension the transposed conv gives y[2m] = x[m-1] K[3] + x[m] K[1] and
 * y[2m+1] = x[m] K[2] + x[m+1] K[0]: phase 0 reads (m-1, m) with taps (K[3], K[1]), padded one
 * before; phase 1 reads (m, m+1) with taps (K[2], K[0]), padded one after. Returns the filters
 * [2, 2, in, out] of phases (a, b) in the order 2a + b, the channel-block order depthToSpace
 * reads. The same multiply-adds as the transposed conv, but by TensorFlow's CPU Conv2D: its
 * Conv2DBackpropInput, which runs the transposed conv, reaches 7-67 GFLOP/s on these shapes.
 */
export function subPixelFilters(filter: tf.Tensor4D): tf.Tensor4D[] {
  return tf.tidy(() => {
    const [kh, kw] = filter.shape;
    if (kh !== 4 || kw !== 4) throw new Error(`subPixelFilters: expected a 4x4 transposed-conv filter, got ${kh}x${kw}`);
    const k = tf.transpose(filter, [0, 1, 3, 2]); // [4, 4, in, out]
    const taps = [tf.tensor1d([3, 1], 'int32'), tf.tensor1d([2, 0], 'int32')];
    const phases: tf.Tensor4D[] = [];
    for (const a of [0, 1]) {
      // Freed as soon as used, not at the tidy's end: a layer's prepare() at load is where a search's memory peaks.
      const rows = tf.gather(k, taps[a], 0);
      for (const b of [0, 1]) phases.push(tf.gather(rows, taps[b], 1) as tf.Tensor4D);
      rows.dispose();
    }
    k.dispose();
    return phases;
  });
}

/** Phase 0 pads one before (it reads m-1, m), phase 1 one after (m, m+1). */
const PHASE_PAD: readonly [number, number][] = [
  [1, 0],
  [0, 1],
];

/** The transposed conv by its sub-pixel filters (subPixelFilters): x [n, h, w, in] -> [n, 2h, 2w, out]. */
export function subPixelConv(x: tf.Tensor4D, phases: readonly tf.Tensor4D[]): tf.Tensor4D {
  const ys: tf.Tensor4D[] = [];
  for (const a of [0, 1]) {
    for (const b of [0, 1]) {
      const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], PHASE_PAD[a], PHASE_PAD[b], [0, 0]];
      ys.push(tf.conv2d(x, phases[2 * a + b], 1, pad));
    }
  }
  const blocks = tf.concat(ys, 3);
  tf.dispose(ys);
  const y = tf.depthToSpace(blocks, 2, 'NHWC');
  blocks.dispose();
  return y;
}

/**
 * Stride-2 transposed convolution by a constant filter [kh, kw, out, in] to `outShape` (the
 * fused upscale + conv). Forward: with `phases` (subPixelFilters(filter), computed once), the
 * sub-pixel Conv2Ds; without, tfjs's transposed conv. Backward: the strided Conv2D by `filter`,
 * as tfjs's gradient computes it.
 */
export function conv2dTransposeFrozen(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  outShape: [number, number, number, number],
  phases?: readonly tf.Tensor4D[],
): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    const subPixel = phases && outShape[1] === 2 * input.shape[1] && outShape[2] === 2 * input.shape[2];
    const value = subPixel ? subPixelConv(input, phases) : tf.conv2dTranspose(input, filter, outShape, 2, 'same');
    return { value, gradFunc: (dy: tf.Tensor) => [tf.conv2d(dy as tf.Tensor4D, filter, 2, 'same')] };
  });
  return op(x) as tf.Tensor4D;
}

/**
 * Stride-1 'same' depthwise convolution by a constant filter (the blur). The backward is the
 * forward depthwise kernel by the spatially reversed filter (`reversed`, computed once, or here
 * per call): the same sums as DepthwiseConv2dNativeBackpropInput, which runs 20-40% slower.
 */
export function depthwiseConv2dFrozen(x: tf.Tensor4D, filter: tf.Tensor4D, reversed?: tf.Tensor4D): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.depthwiseConv2d(args[0] as tf.Tensor4D, filter, 1, 'same'),
    gradFunc: (dy: tf.Tensor) => {
      if (reversed) return [tf.depthwiseConv2d(dy as tf.Tensor4D, reversed, 1, 'same')];
      const r = tf.reverse(filter, [0, 1]) as tf.Tensor4D;
      const dx = tf.depthwiseConv2d(dy as tf.Tensor4D, r, 1, 'same');
      r.dispose();
      return [dx];
    },
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * The linear ops of a forward pass: tfjs's own when the weights train, the frozen ones in a
 * search. `derived` is what a frozen op computes from the weights (inputGradientFilter,
 * subPixelFilters or the reversed blur), passed when a layer has prepared it; trainable ops
 * ignore it.
 */
export interface LinearOps {
  conv(x: tf.Tensor4D, filter: tf.Tensor4D, pad: 'same' | 'valid', derived?: tf.Tensor4D): tf.Tensor4D;
  convTranspose(x: tf.Tensor4D, filter: tf.Tensor4D, outShape: [number, number, number, number], derived?: readonly tf.Tensor4D[]): tf.Tensor4D;
  blur(x: tf.Tensor4D, filter: tf.Tensor4D, derived?: tf.Tensor4D): tf.Tensor4D;
  addBias(x: tf.Tensor4D, bias: tf.Tensor): tf.Tensor4D;
}

const TRAINABLE_OPS: LinearOps = {
  conv: (x, filter, pad) => conv2dTrainable(x, filter, pad),
  convTranspose: (x, filter, outShape) => tf.conv2dTranspose(x, filter, outShape, 2, 'same'),
  blur: (x, filter) => tf.depthwiseConv2d(x, filter, 1, 'same'),
  addBias: (x, bias) => tf.add(x, bias) as tf.Tensor4D,
};

const FROZEN_OPS: LinearOps = {
  conv: conv2dFrozen,
  convTranspose: conv2dTransposeFrozen,
  blur: depthwiseConv2dFrozen,
  addBias: addFrozenBias,
};

/** The ops for weights that train (weight gradients needed) or not (a search: nothing kept). */
export function linearOps(trainable: boolean): LinearOps {
  return trainable ? TRAINABLE_OPS : FROZEN_OPS;
}
