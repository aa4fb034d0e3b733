/**
 * A stride-1 convolution's input gradient as a forward convolution, and the convolution of
 * training (weights that learn) built on it.
 *
 * tfjs's conv2d gradient computes dx with TensorFlow's Conv2DBackpropInput, which on this
 * project's shapes runs 2-20x slower than a forward Conv2D of the same size (docs/performance.md):
 * it was 22% of a training step's kernel time. A search (frozen-ops.ts) and training both compute
 * dx as a forward Conv2D by the filter reversed in space with in and out swapped.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Whether conv2d(dy, inputGradientFilter(filter)) is the input gradient: with 'same' padding the
 * pad must be symmetric (odd kernels); with 'valid' only a 1x1 kernel keeps the input's size.
 */
export function hasForwardInputGradient(filterShape: readonly number[], pad: 'same' | 'valid'): boolean {
  const [kh, kw] = filterShape;
  return pad === 'same' ? kh % 2 === 1 && kw % 2 === 1 : kh === 1 && kw === 1;
}

/**
 * The filter whose forward convolution is a stride-1 conv's input gradient: [kh, kw, in, out]
 * reversed in space, with in and out swapped. For odd kernels with 'same' (or 1x1 'valid')
 * padding, conv2d(dy, this) equals Conv2DBackpropInput(dy, filter) up to float rounding (the
 * same products, summed in another order).
 */
export function inputGradientFilter(filter: tf.Tensor4D): tf.Tensor4D {
  // No tidy: inside R1's gradient of a gradient these ops are on the tape, which needs them
  // (the engine's backward tidy frees them otherwise).
  const [kh, kw] = filter.shape;
  if (kh === 1 && kw === 1) return tf.transpose(filter, [0, 1, 3, 2]);
  const reversed = tf.reverse(filter, [0, 1]);
  const swapped = tf.transpose(reversed, [0, 1, 3, 2]);
  if (!tf.engine().state.gradientDepth) reversed.dispose();
  return swapped;
}

/**
 * dW of a stride-1 convolution: TensorFlow's Conv2DBackpropFilter, as tfjs's conv2d gradient, except
 * for 1x1 filters (toRGB), whose dW is one matrix product x^T dy. The product is what the kernel
 * computes anyway, and it avoids a fault of this project's wasm Conv2DBackpropFilter
 * (src/backend/wasm-kernels.ts): for a 1x1 filter computed while an outer gradient is recorded
 * (R1), one of its inputs arrives already disposed. tfjs's own conv2d gradient hits the same
 * fault when its dW is taken inside an outer tf.grad; not yet mended there.
 */
function filterGradient(x: tf.Tensor4D, dy: tf.Tensor4D, shape: [number, number, number, number], pad: 'same' | 'valid'): tf.Tensor {
  const [kh, kw, inC, outC] = shape;
  if (kh === 1 && kw === 1) {
    return tf.reshape(tf.matMul(tf.reshape(x, [-1, inC]), tf.reshape(dy, [-1, outC]), true, false), shape);
  }
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
    strides: [1, 1],
    pad,
    dataFormat: 'NHWC',
    dimRoundingMode: undefined,
    filterShape: shape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * Stride-1 convolution whose filter learns: dx by the forward Conv2D above, dW by filterGradient.
 * The reversed filter is made from the weight in each backward pass (the weight changes every
 * step) from differentiable ops, so R1's gradient of a gradient flows through dx. Kernels without
 * a forward input gradient (hasForwardInputGradient) are tfjs's conv2d.
 */
export function conv2dTrainable(x: tf.Tensor4D, filter: tf.Tensor4D, pad: 'same' | 'valid'): tf.Tensor4D {
  if (!hasForwardInputGradient(filter.shape, pad)) return tf.conv2d(x, filter, 1, pad);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, w, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([input, w]);
    return {
      value: tf.conv2d(input, w, 1, pad),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [savedInput, savedFilter] = saved as [tf.Tensor4D, tf.Tensor4D];
        const dx = tf.conv2d(dy as tf.Tensor4D, inputGradientFilter(savedFilter), 1, pad);
        return [dx, filterGradient(savedInput, dy as tf.Tensor4D, savedFilter.shape, pad)];
      },
    };
  });
  return op(x, filter) as tf.Tensor4D;
}
