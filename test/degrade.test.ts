/**
 * src/eval/degrade.ts: the box downscale is the block mean, the bilinear upscale is
 * tf.image.resizeBilinear with half-pixel centres, and softening keeps flat images and sizes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestBackend } from './helpers/backend.js';
import { bilinearUpscale, boxDownscale, softenByFactor } from '../src/eval/degrade.js';
import { gaussian } from '../src/util/random.js';
import type { RgbImage } from '../src/io/rgb-image.js';

beforeAll(async () => {
  await useTestBackend();
});

function randomImage(width: number, height: number, seed: number): RgbImage {
  const data = Float32Array.from(gaussian(seed, width * height * 3), (v) => 0.5 + 0.2 * v);
  return { width, height, data };
}

describe('degrade', () => {
  it('boxDownscale is the mean of each block; a 2x2 checkerboard becomes flat', () => {
    const image = randomImage(8, 4, 3);
    const down = boxDownscale(image, 2);
    expect([down.width, down.height]).toEqual([4, 2]);
    // Block (x=1, y=1), channel 2, by hand.
    const at = (x: number, y: number, c: number) => image.data[(y * 8 + x) * 3 + c];
    const expected = (at(2, 2, 2) + at(3, 2, 2) + at(2, 3, 2) + at(3, 3, 2)) / 4;
    expect(down.data[(1 * 4 + 1) * 3 + 2]).toBeCloseTo(expected, 6);
    const checker: RgbImage = { width: 4, height: 4, data: Float32Array.from({ length: 48 }, (_, i) => ((Math.floor(i / 3) % 4) + Math.floor(i / 12)) % 2) };
    expect([...boxDownscale(checker, 2).data].every((v) => v === 0.5)).toBe(true);
  });

  it('bilinearUpscale equals tf.image.resizeBilinear with half-pixel centres (within 1e-6)', async () => {
    const image = randomImage(5, 7, 11);
    for (const factor of [2, 4]) {
      const ours = bilinearUpscale(image, factor);
      const ref = tf.tidy(() => tf.image.resizeBilinear(tf.tensor4d(image.data, [1, 7, 5, 3]), [7 * factor, 5 * factor], false, true));
      const refData = await ref.data();
      ref.dispose();
      expect([ours.width, ours.height]).toEqual([5 * factor, 7 * factor]);
      let worst = 0;
      for (let i = 0; i < refData.length; i++) worst = Math.max(worst, Math.abs(refData[i] - ours.data[i]));
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it('softenByFactor keeps the size and flat images, removes a checkerboard, and names bad factors', () => {
    const flat: RgbImage = { width: 8, height: 8, data: new Float32Array(192).fill(0.25) };
    const soft = softenByFactor(flat, 4);
    expect([soft.width, soft.height]).toEqual([8, 8]);
    expect([...soft.data].every((v) => Math.abs(v - 0.25) < 1e-7)).toBe(true);
    const image = randomImage(8, 8, 5);
    expect(softenByFactor(image, 1)).toBe(image);
    expect(() => softenByFactor(image, 3)).toThrow(/not divisible by the factor 3/);
    expect(() => boxDownscale(image, 0)).toThrow(/positive integer/);
  });
});
