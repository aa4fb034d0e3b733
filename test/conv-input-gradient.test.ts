/**
 * The training convolution (src/stylegan/conv-input-gradient.ts) against tfjs's conv2d: the same
 * value bit for bit, the same input and filter gradients within float rounding, and the same
 * gradient of a gradient (what R1 takes).
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2dTrainable } from '../src/stylegan/conv-input-gradient.js';
import { gaussian } from '../src/util/random.js';
import { useTestBackend } from './helpers/backend.js';
import { relativeError } from './helpers/relative-error.js';

beforeAll(async () => {
  await useTestBackend();
});

const t4 = (seed: string, shape: [number, number, number, number]) => tf.tensor4d(gaussian(seed, shape.reduce((a, b) => a * b, 1)), shape);

describe.each([
  ['3x3 same', [3, 3, 6, 5], 'same'],
  ['1x1 valid', [1, 1, 6, 4], 'valid'],
  ['2x2 same (asymmetric padding: tfjs\'s own gradient)', [2, 2, 6, 5], 'same'],
  ['3x3 valid (tfjs\'s own gradient)', [3, 3, 6, 5], 'valid'],
] as const)('conv2dTrainable, %s', (_name, filterShape, pad) => {
  const conv = (f: typeof conv2dTrainable | ((x: tf.Tensor4D, w: tf.Tensor4D, p: 'same' | 'valid') => tf.Tensor4D)) => f;
  const plain = (x: tf.Tensor4D, w: tf.Tensor4D, p: 'same' | 'valid') => tf.conv2d(x, w, 1, p);

  it('gives tfjs its value, input gradient and filter gradient', async () => {
    const x = t4('x', [2, 8, 8, 6]);
    const w = t4('w', [...filterShape]);
    const proj = (y: tf.Tensor) => tf.sum(tf.mul(y, tf.tensor(gaussian('p', y.size), y.shape)));
    const grads = (f: typeof plain) => tf.grads((a: tf.Tensor, b: tf.Tensor) => proj(conv(f)(a as tf.Tensor4D, b as tf.Tensor4D, pad)))([x, w]);
    expect(await relativeError(conv2dTrainable(x, w, pad), plain(x, w, pad))).toBe(0);
    const [gx, gw] = grads(conv2dTrainable);
    const [px, pw] = grads(plain);
    expect(await relativeError(gx, px)).toBeLessThan(2e-6);
    expect(await relativeError(gw, pw)).toBeLessThan(2e-6);
  });

  it('has tfjs\'s gradient of a gradient (R1: d/dw of |d out / d x|^2)', async () => {
    const x = t4('x2', [2, 6, 6, 6]);
    const w = t4('w2', [...filterShape]);
    const r1 = (f: typeof plain) =>
      tf.grad((wv: tf.Tensor) => {
        const gx = tf.grad((xv: tf.Tensor) => tf.sum(tf.square(conv(f)(xv as tf.Tensor4D, wv as tf.Tensor4D, pad))))(x);
        return tf.sum(tf.square(gx));
      })(w);
    expect(await relativeError(r1(conv2dTrainable), r1(plain))).toBeLessThan(2e-6);
  });
});
