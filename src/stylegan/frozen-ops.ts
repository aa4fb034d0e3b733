/**
 * The synthesis network's linear ops for a PULSE search, where the weights are constants: the
 * gradient flows to the activation alone, so the backward pass needs no forward tensor at all.
 *
 * tfjs's own conv2d, depthwiseConv2d, conv2dTranspose and add keep their inputs alive until the
 * backward pass (for the weight gradients, or only for shapes, in add's case): at 1024 px that is
 * a 64 MB activation per op that nothing reads again. These run the same kernels forward and
 * backward (Conv2DBackpropInput, DepthwiseConv2dNativeBackpropInput, Conv2D, a pass-through), so
 * values and gradients are bit-identical to tfjs's; only what is kept differs. Training, which
 * needs the weight gradients, uses the tfjs ops.
 */
import * as tf from '@tensorflow/tfjs-core';

/** x + bias with `bias` constant: nothing kept; the gradient passes through. */
export function addFrozenBias(x: tf.Tensor4D, bias: tf.Tensor): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.add(args[0] as tf.Tensor, bias) as tf.Tensor4D,
    gradFunc: (dy: tf.Tensor) => [tf.clone(dy)],
  }));
  return op(x) as tf.Tensor4D;
}

/** Stride-1 convolution by a constant filter [kh, kw, in, out]; the backward is Conv2DBackpropInput. */
export function conv2dFrozen(x: tf.Tensor4D, filter: tf.Tensor4D, pad: 'same' | 'valid'): tf.Tensor4D {
  const shape = x.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.conv2d(args[0] as tf.Tensor4D, filter, 1, pad),
    gradFunc: (dy: tf.Tensor) => [tf.conv2dTranspose(dy as tf.Tensor4D, filter, shape, 1, pad)],
  }));
  return op(x) as tf.Tensor4D;
}

/**
 * Stride-2 transposed convolution by a constant filter [kh, kw, out, in] to `outShape` (the
 * fused upscale + conv); the backward is the strided Conv2D, as tfjs's gradient computes it.
 */
export function conv2dTransposeFrozen(x: tf.Tensor4D, filter: tf.Tensor4D, outShape: [number, number, number, number]): tf.Tensor4D {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.conv2dTranspose(args[0] as tf.Tensor4D, filter, outShape, 2, 'same'),
    gradFunc: (dy: tf.Tensor) => [tf.conv2d(dy as tf.Tensor4D, filter, 2, 'same')],
  }));
  return op(x) as tf.Tensor4D;
}

/** Stride-1 'same' depthwise convolution by a constant filter (the blur); backward by the input-gradient kernel. */
export function depthwiseConv2dFrozen(x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D {
  const inputShape = x.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: tf.depthwiseConv2d(args[0] as tf.Tensor4D, filter, 1, 'same'),
    gradFunc: (dy: tf.Tensor) => [
      tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter }, {
        strides: [1, 1],
        pad: 'same',
        dilations: [1, 1],
        inputShape,
      } as unknown as tf.NamedAttrMap) as tf.Tensor,
    ],
  }));
  return op(x) as tf.Tensor4D;
}

/** The linear ops of a forward pass: tfjs's own when the weights train, the frozen ones in a search. */
export interface LinearOps {
  conv(x: tf.Tensor4D, filter: tf.Tensor4D, pad: 'same' | 'valid'): tf.Tensor4D;
  convTranspose(x: tf.Tensor4D, filter: tf.Tensor4D, outShape: [number, number, number, number]): tf.Tensor4D;
  blur(x: tf.Tensor4D, filter: tf.Tensor4D): tf.Tensor4D;
  addBias(x: tf.Tensor4D, bias: tf.Tensor): tf.Tensor4D;
}

const TRAINABLE_OPS: LinearOps = {
  conv: (x, filter, pad) => tf.conv2d(x, filter, 1, pad),
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
