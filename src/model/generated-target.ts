/**
 * The demo's test case: a face the model itself generates (so it is nobody), and its
 * low-resolution version made with PULSE's own downsampler. Shared by `pulse demo` and the
 * notebooks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BicubicDownsampler } from '../pulse/bicubic.js';
import { imageFromNhwc, type RgbImage } from '../io/image.js';
import type { LoadedModel } from './model.js';
import { sampleFaces } from './sample.js';

export interface GeneratedTarget {
  /** The generated face, [0, 1], and its low-res version. */
  readonly original: RgbImage;
  readonly lowRes: RgbImage;
  /** The low-res face as PULSE's target [1, r, r, 3]; the caller disposes it. */
  readonly target: tf.Tensor4D;
  readonly resolution: number;
  readonly lowResolution: number;
}

export async function generatedTarget(model: Pick<LoadedModel, 'synthesis' | 'mapping' | 'source'>, seed: number, factor: number): Promise<GeneratedTarget> {
  const R = model.synthesis.config.resolution;
  const hr = await sampleFaces(model, [seed]);
  const down = new BicubicDownsampler(factor);
  const target = tf.tidy(() => down.apply(tf.tensor4d(hr, [1, R, R, 3])));
  down.dispose();
  const low = R / factor;
  return {
    original: imageFromNhwc(hr, 0, { width: R, height: R }),
    lowRes: imageFromNhwc((await target.data()) as Float32Array, 0, { width: low, height: low }),
    target,
    resolution: R,
    lowResolution: low,
  };
}
