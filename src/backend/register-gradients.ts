/**
 * Gradient functions tfjs needs but does not register by default.
 *
 * - tfjs-core's CommonJS bundle (what Node loads) registers no gradients at all; the union
 *   package's bundle does, as a side effect of importing it.
 * - Comparison ops have zero gradient almost everywhere but no registered gradient, so a
 *   second derivative through LeakyReLU (whose gradient uses `greater`) fails. The R1
 *   penalty of `pulse train` is such a second derivative.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

const ZERO_GRADIENT_KERNELS = ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual'];

for (const kernelName of ZERO_GRADIENT_KERNELS) {
  if (tf.getGradient(kernelName)) continue;
  tf.registerGradient({
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [a, b] = saved;
      return { a: () => tf.zerosLike(a), b: () => tf.zerosLike(b) };
    },
  });
}
