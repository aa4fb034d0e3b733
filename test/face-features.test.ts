/**
 * The frozen face network of the vision-aided discriminator (src/train/face-features.ts): its
 * forward pass, written with the project's ops, gives face-api's own age and gender predictions
 * on the repository's fixture faces; its features are differentiable in the pixels (checked
 * against finite differences), which is what the generator learns through.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGE_GENDER_INPUT_SIDE, AgeGenderFeatures } from '../src/train/face-features.js';
import { faceApiModelDir } from '../src/eval/face-analysis.js';
import { readImage } from '../src/io/image.js';
import { useTestBackend } from './helpers/backend.js';
import { FIXTURE_FACES } from './helpers/paths.js';

const require = createRequire(import.meta.url);

interface AgeGenderNet {
  isLoaded: boolean;
  loadFromDisk(dir: string): Promise<void>;
  forward(input: tf.Tensor4D): Promise<{ age: tf.Tensor1D; gender: tf.Tensor2D }>;
}

/** Fixture faces as one [N, 112, 112, 3] batch in 0-255 (resized by the same bilinear rule face-api uses). */
async function fixtureBatch(names: readonly string[]): Promise<tf.Tensor4D> {
  const images = (await Promise.all(names.map((n) => readImage(join(FIXTURE_FACES, n))))).map((r) => r.image);
  return tf.tidy(() => {
    const batch = tf.stack(images.map((im) => tf.tensor3d(im.data, [im.height, im.width, 3]))) as tf.Tensor4D;
    return tf.image.resizeBilinear(tf.mul(batch, 255) as tf.Tensor4D, [AGE_GENDER_INPUT_SIDE, AGE_GENDER_INPUT_SIDE], false, false);
  });
}

describe('face features (face-api age and gender network)', () => {
  let net: AgeGenderFeatures;
  beforeAll(async () => {
    await useTestBackend();
    net = AgeGenderFeatures.load();
  });

  it("gives face-api's own age and gender predictions", async () => {
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as { nets: { ageGenderNet: AgeGenderNet } };
    if (!api.nets.ageGenderNet.isLoaded) await api.nets.ageGenderNet.loadFromDisk(faceApiModelDir());
    const batch = await fixtureBatch(['generated-7000.png', 'generated-7001.png', 'generated-7004.png']);
    const theirs = await api.nets.ageGenderNet.forward(tf.unstack(batch) as unknown as tf.Tensor4D);
    const ours = net.ageGender(batch);
    const [ta, tg, oa, og] = await Promise.all([theirs.age.data(), theirs.gender.data(), ours.age.data(), ours.gender.data()]);
    // Ages are tens of years; the two passes run the same float32 ops in a different grouping.
    for (let i = 0; i < ta.length; i++) expect(Math.abs(oa[i] - ta[i])).toBeLessThan(1e-3 * Math.max(1, Math.abs(ta[i])));
    for (let i = 0; i < tg.length; i++) expect(Math.abs(og[i] - tg[i])).toBeLessThan(1e-4);
    // Not a degenerate pass: the fixtures differ in what it predicts.
    expect(Math.max(...oa) - Math.min(...oa)).toBeGreaterThan(0.5);
    tf.dispose([batch, theirs.age, theirs.gender, ours.age, ours.gender]);
  });

  it('features of generator-range images are the features of the same images in 0-255', async () => {
    const batch255 = await fixtureBatch(['generated-7002.png']);
    const a = net.pooled255(batch255);
    const b = net.features(tf.sub(tf.div(batch255, 127.5), 1) as tf.Tensor4D);
    expect(a.shape).toEqual([1, 512]);
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    expect(diff).toBeLessThan(1e-4 * Math.max(1, tf.max(tf.abs(a)).dataSync()[0]));
    tf.dispose([batch255, a, b]);
  });

  it('is differentiable in the pixels: the gradient matches finite differences', async () => {
    // A 64 px image (the generator's side), resized inside; objective: a fixed projection of the features.
    const x = tf.tidy(() => tf.sub(tf.div(tf.image.resizeBilinear(tf.mul(tf.ones([1, 8, 8, 3]), tf.linspace(0, 255, 3)) as tf.Tensor4D, [64, 64]), 127.5), 1)) as tf.Tensor4D;
    const base = (await fixtureBatch(['generated-7000.png'])) as tf.Tensor4D;
    const img = tf.tidy(() => tf.add(tf.mul(tf.sub(tf.div(tf.image.resizeBilinear(base, [64, 64]), 127.5), 1), 0.9), tf.mul(x, 0.05))) as tf.Tensor4D;
    const proj = tf.tidy(() => tf.sin(tf.range(0, 512)) as tf.Tensor1D);
    const objective = (im: tf.Tensor4D) => tf.sum(tf.mul(net.features(im), proj)) as tf.Scalar;
    const grad = tf.grad((im: tf.Tensor) => objective(im as tf.Tensor4D))(img);
    const g = await grad.data();
    expect(g.every(Number.isFinite)).toBe(true);
    // Directional derivatives along three seeded random directions, by central differences: the
    // network is piecewise linear (ReLU, max pool), so only a small step stays on one linear piece.
    const base0 = await img.data();
    for (const seed of [1, 2, 3]) {
      const dir = tf.randomNormal(img.shape, 0, 1, 'float32', seed);
      const analytic = tf.sum(tf.mul(grad, dir)).dataSync()[0];
      const at = (t: number) => tf.tidy(() => objective(tf.add(tf.tensor4d(base0, img.shape), tf.mul(dir, t)) as tf.Tensor4D).dataSync()[0]);
      // Kinks lie close together in a real face (at h = 1e-3 the quotient is 20% off), so the step
      // is tiny, and float32 rounding of an objective near 20 then moves the quotient by up to about
      // 10% (measured: -85.9 vs -85.9, 24.2 vs 25.1, 20.9 vs 18.6). The tolerance allows that, and
      // still fails a gradient that is missing, of the wrong sign or off by a factor.
      const h = 1e-5;
      const fd = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(fd - analytic)).toBeLessThan(0.15 * Math.abs(analytic) + 0.5);
      dir.dispose();
    }
    tf.dispose([x, base, img, proj, grad]);
  });
});
