/**
 * A stand-in for @tensorflow/tfjs-node-gpu, to test backend selection (src/backend/select.ts)
 * where the real package cannot be built (no CUDA, no GPU). It does what the real package's
 * entry point does as far as selection can see: on import it registers a backend named
 * 'tensorflow' whose instance reports `isUsingGpuDevice` (the real binding asks TensorFlow
 * whether it found a CUDA device), or it throws the way the real addon does when the CUDA
 * libraries are missing. Its kernels are the pure-JS cpu backend's, so ops really run on it.
 *
 * STAND_IN_GPU chooses the machine: 'visible' (a CUDA device), 'none' (TensorFlow runs on
 * the CPU), 'no-cuda' (the import fails).
 */
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

const machine = process.env.STAND_IN_GPU ?? 'visible';
if (!['visible', 'none', 'no-cuda'].includes(machine)) throw new Error(`STAND_IN_GPU=${machine}: use visible, none or no-cuda`);
if (machine === 'no-cuda') {
  throw new Error('libcudart.so.11.0: cannot open shared object file: No such file or directory (stand-in for @tensorflow/tfjs-node-gpu)');
}

class StandInNativeBackend extends MathBackendCPU {
  readonly isUsingGpuDevice = machine === 'visible';
}

tf.registerBackend('tensorflow', () => new StandInNativeBackend(), 3);
for (const kernel of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...kernel, backendName: 'tensorflow' });

/** Marks the stand-in, so a test can tell it from the real package. */
export const STAND_IN = true;
