/**
 * Faces drawn from a generator: z ~ N(0, I) from a seed -> mapping -> the same w for every
 * layer, with seeded noise. Used by the demo (a face that is nobody) and evaluation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { noiseSide } from '../stylegan/config.js';
import { gaussian } from '../util/random.js';
import type { LoadedModel } from './model.js';

/** Images in [0, 1], NHWC [seeds.length, R, R, 3]; seed k gives the same face alone or in a batch. */
export async function sampleFaces(model: Pick<LoadedModel, 'synthesis' | 'mapping' | 'source'>, seeds: readonly number[]): Promise<Float32Array> {
  const mapping = model.mapping;
  if (!mapping) throw new Error(`${model.source} has no mapping network, so it cannot draw random faces; use a model with mapping.pt`);
  const n = seeds.length;
  const out = tf.tidy(() => {
    const z = tf.tensor2d(
      seeds.flatMap((s) => Array.from(gaussian(`face:${s}:z`, mapping.config.latentSize))),
      [n, mapping.config.latentSize],
    );
    const w = mapping.forward(z);
    const layers = model.synthesis.numLayers;
    const noise = Array.from({ length: layers }, (_, i) => {
      const side = noiseSide(i);
      return tf.tensor4d(
        seeds.flatMap((s) => Array.from(gaussian(`face:${s}:noise:${i}`, side * side))),
        [n, side, side, 1],
      );
    });
    const img = model.synthesis.forward(tf.tile(tf.expandDims(w, 1), [1, layers, 1]) as tf.Tensor3D, noise);
    return tf.clipByValue(tf.div(tf.add(img, 1), 2), 0, 1);
  });
  const data = (await out.data()) as Float32Array;
  out.dispose();
  return data;
}
