/**
 * src/eval/face-net-features.ts: the pooled features it returns for the fixture faces are what
 * face-api's own expression and landmark classifiers read (their heads give the same outputs on
 * our vectors as on the images), one 256-value vector per face; bad input is named.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { faceNetFeatures, type FaceNetFeatureNet } from '../src/eval/face-net-features.js';
import { readImage } from '../src/io/image.js';
import type { RgbImage } from '../src/io/rgb-image.js';
import { useTestBackend } from './helpers/backend.js';
import { FIXTURE_FACES } from './helpers/paths.js';

const require = createRequire(import.meta.url);

interface ClassifierNet {
  runNet(input: unknown): tf.Tensor2D;
}
interface FaceApi {
  toNetInput(input: tf.Tensor3D[]): Promise<unknown>;
  nets: { faceExpressionNet: ClassifierNet; faceLandmark68Net: ClassifierNet };
}

describe("face-api's expression and landmark nets as feature extractors", () => {
  let images: RgbImage[];
  beforeAll(async () => {
    await useTestBackend();
    images = (await Promise.all(['generated-7000.png', 'generated-7001.png', 'generated-7004.png'].map((n) => readImage(join(FIXTURE_FACES, n))))).map((r) => r.image);
  });

  it.each([
    ['expression', 'faceExpressionNet'],
    ['landmarks-68', 'faceLandmark68Net'],
  ] as const)('%s: 256 values per face, the vector its own head reads', async (which: FaceNetFeatureNet, netName) => {
    const features = await faceNetFeatures(which, images, 2); // two batches: 2 + 1
    expect(features).toHaveLength(3);
    for (const f of features) {
      expect(f).toHaveLength(256);
      expect(f.every(Number.isFinite)).toBe(true);
    }
    expect(features[0]).not.toEqual(features[1]);
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    const net = api.nets[netName];
    const inputs = images.map((im) => tf.mul(tf.tensor3d(im.data, [im.height, im.width, 3]), 255) as tf.Tensor3D);
    const fromImages = net.runNet(await api.toNetInput(inputs));
    const ours = tf.tensor4d(Float32Array.from(features.flatMap((f) => Array.from(f))), [3, 1, 1, 256]);
    const fromOurs = net.runNet(ours);
    const diff = tf.max(tf.abs(tf.sub(fromImages, fromOurs))).dataSync()[0];
    expect(diff).toBeLessThan(1e-5);
    tf.dispose([...inputs, fromImages, ours, fromOurs]);
  });

  it('names what is wrong', async () => {
    await expect(faceNetFeatures('age' as FaceNetFeatureNet, images)).rejects.toThrow(/face net "age" is not one of expression, landmarks-68/);
    await expect(faceNetFeatures('expression', [{ width: 4, height: 2, data: new Float32Array(24) }])).rejects.toThrow(/image 0 is 4x2; give square faces/);
  });
});
