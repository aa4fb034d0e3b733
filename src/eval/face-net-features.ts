/**
 * Pooled features of two more of face-api's networks, the expression net and the 68-point
 * landmark net: each is face-api's FaceFeatureExtractor (four dense blocks, 112 px in, then a 7 x 7
 * average pool: 256 values per face) with its own trained weights, before its classifier. Used
 * to ask which frozen network could serve a vision-aided discriminator
 * (scripts/probe-feature-separability.ts, with src/eval/linear-probe.ts).
 *
 * face-api runs them on the project's tfjs engine and backend, loaded as src/eval/face-analysis.ts
 * loads the package (the same `require`d module). Inference only: no gradient reaches the pixels
 * (the age and gender net, src/train/face-features.ts, is the one rewritten for that).
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import type { RgbImage } from '../io/image.js';
import { faceApiModelDir } from './face-analysis.js';

export const FACE_NET_FEATURE_NETS = ['expression', 'landmarks-68'] as const;
export type FaceNetFeatureNet = (typeof FACE_NET_FEATURE_NETS)[number];

// The slice of face-api's API used here.
interface FeatureExtractor {
  forward(input: tf.Tensor3D[]): Promise<tf.Tensor4D>;
}
interface ProcessorNet {
  loadFromDisk(dir: string): Promise<void>;
  isLoaded: boolean;
  faceFeatureExtractor: FeatureExtractor;
}
interface FaceApiNets {
  nets: { faceExpressionNet: ProcessorNet; faceLandmark68Net: ProcessorNet };
}

const require = createRequire(import.meta.url);

async function loadNet(which: FaceNetFeatureNet): Promise<ProcessorNet> {
  const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiNets;
  const net = which === 'expression' ? api.nets.faceExpressionNet : api.nets.faceLandmark68Net;
  if (!net.isLoaded) await net.loadFromDisk(faceApiModelDir());
  return net;
}

/**
 * One 256-value vector per image (RGB in [0, 1], any square size: face-api resizes it to 112 px
 * bilinearly), computed in batches of `batch`.
 */
export async function faceNetFeatures(which: FaceNetFeatureNet, images: readonly RgbImage[], batch = 32): Promise<Float32Array[]> {
  if (!(FACE_NET_FEATURE_NETS as readonly string[]).includes(which)) {
    throw new Error(`face net "${String(which)}" is not one of ${FACE_NET_FEATURE_NETS.join(', ')}`);
  }
  const net = await loadNet(which);
  const out: Float32Array[] = [];
  for (let start = 0; start < images.length; start += batch) {
    const part = images.slice(start, start + batch);
    const inputs = part.map((im, k) => {
      if (im.width !== im.height) throw new Error(`face net features: image ${start + k} is ${im.width}x${im.height}; give square faces`);
      return tf.tidy(() => tf.mul(tf.tensor3d(im.data, [im.height, im.width, 3]), 255) as tf.Tensor3D);
    });
    const features = await net.faceFeatureExtractor.forward(inputs);
    const flat = tf.reshape(features, [part.length, -1]);
    const data = (await flat.data()) as Float32Array;
    const width = flat.shape[1]!;
    for (let k = 0; k < part.length; k++) out.push(data.slice(k * width, (k + 1) * width));
    tf.dispose([...inputs, features, flat]);
  }
  return out;
}
