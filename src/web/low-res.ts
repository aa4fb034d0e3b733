/**
 * PULSE's low-resolution input on the page: an aligned face at the model's resolution downscaled
 * by the chosen factor with PULSE's own downsampler (as `pulse bench-data` makes its inputs), or
 * a tiny image taken as it is (already low-resolution: it is not aligned).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RgbImage } from '../io/rgb-image.js';
import { BicubicDownsampler } from '../pulse/bicubic.js';
import { factorFor } from '../pulse/run.js';

/** Whether a photo is already a low-resolution face: no side above half the model's resolution. */
export function isTinyInput(image: RgbImage, resolution: number): boolean {
  return Math.max(image.width, image.height) <= resolution / 2;
}

/** The factors the page offers for a model: powers of 2 leaving at least 2 px. */
export function factorChoices(resolution: number): number[] {
  const out: number[] = [];
  for (let f = 2; resolution / f >= 2; f *= 2) out.push(f);
  return out;
}

/** `face` (resolution x resolution) downscaled by `factor`. */
export function downscaleFace(face: RgbImage, factor: number): RgbImage {
  factorFor(face.width, face.width / factor, `a ${face.width}/${factor} px input`);
  const down = new BicubicDownsampler(factor);
  try {
    const low = tf.tidy(() => down.apply(tf.tensor4d(face.data, [1, face.height, face.width, 3])));
    const data = low.dataSync() as Float32Array;
    low.dispose();
    return { width: face.width / factor, height: face.height / factor, data: Float32Array.from(data) };
  } finally {
    down.dispose();
  }
}

/** Checks a tiny input against the model: square, with a side that PULSE can upscale. */
export function checkTinyInput(image: RgbImage, resolution: number, name: string): number {
  if (image.width !== image.height) {
    throw new Error(`${name} is ${image.width}x${image.height}: a low-resolution face must be square (or give a larger photo to align)`);
  }
  return factorFor(resolution, image.width, name);
}
