/**
 * Can the vision-aided discriminator's head learn to tell a model's samples from training faces,
 * when the generator does not move? The head of src/train/vision-discriminator.ts (its layers,
 * initialisation and loss; Adam with the trainer's betas 0 and 0.99 at its lr 0.002) trained
 * alone on fixed features: face-api's age and gender net (src/train/face-features.ts) of `--images`
 * training faces (every 6th of the aligned train cache) and as many samples, each under one draw
 * of the training's DiffAugment. 80% of each set trains the head, 20% is held out. Twice: on
 * the raw features, as training feeds them, and standardised by the training reals' mean and
 * spread. Docs: docs/training.md, Session 18.
 *
 *   npx tsx scripts/probe-vision-head.ts [--model DIR] [--images 1000] [--steps 1500] \
 *     [--data ../shared/datasets/lfw] [--out experiments/train-v2-wide-vision/head-alone.json] [--force]
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import seedrandom from 'seedrandom';
import { initBackend } from '../src/backend/select.js';
import { listFaces } from '../src/data/face-folder.js';
import { prepareDatasetCache } from '../src/data/dataset-cache.js';
import { defaultModelPath } from '../src/model/default-model.js';
import { loadModel } from '../src/model/model.js';
import { sampleFaces } from '../src/model/sample.js';
import { applyAugment, drawAugment, parseAugmentPolicy } from '../src/train/augment.js';
import { AgeGenderFeatures } from '../src/train/face-features.js';
import { VisionHead, randomVisionHeadStateDict, visionDiscriminatorLoss } from '../src/train/vision-discriminator.js';
import { writeJsonAtomic } from '../src/util/files.js';
import { portablePath } from '../src/util/repo-root.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    images: { type: 'string', default: '1000' },
    steps: { type: 'string', default: '1500' },
    data: { type: 'string', default: '../shared/datasets/lfw' },
    out: { type: 'string', default: 'experiments/train-v2-wide-vision/head-alone.json' },
    force: { type: 'boolean', default: false },
  },
});
const N = Number(values.images);
const steps = Number(values.steps);
if (!Number.isInteger(N) || N < 50 || N % 50 !== 0) throw new Error(`--images ${values.images}: give a multiple of 50, at least 50`);
if (!Number.isInteger(steps) || steps < 300) throw new Error(`--steps ${values.steps}: give an integer >= 300`);
if (existsSync(values.out!) && !values.force) throw new Error(`${values.out} already exists; pass --force to overwrite it, or choose another --out`);
if (!existsSync(values.data!)) throw new Error(`--data ${values.data}: no such folder (an LFW-style dataset; ../shared/datasets/lfw here)`);

const backend = await initBackend();
const modelPath = values.model ?? defaultModelPath();
const model = await loadModel(modelPath);
const S = model.synthesis.config.resolution;
const px = S * S * 3;
const policy = parseAugmentPolicy('color,translation,cutout');
const net = AgeGenderFeatures.load();
const BATCH = 32;
const LR = 0.002;

// Real faces: the training split in the FFHQ alignment (the dataset cache `pulse train --crop ffhq` uses).
const cache = await prepareDatasetCache(await listFaces(resolve(values.data!), { split: 'train' }), { crop: 'ffhq', size: S });
if (cache.count < 6 * N) throw new Error(`the train cache holds ${cache.count} faces; --images ${N} takes every 6th of ${6 * N}`);
const realPx = new Float32Array(N * px);
for (let k = 0; k < N; k++) realPx.set(Array.from(cache.pixels.subarray(6 * k * px, (6 * k + 1) * px), (v) => v / 127.5 - 1), k * px);
const fakePx = new Float32Array(N * px);
for (let s = 0; s < N; s += 50) {
  const seeds = Array.from({ length: 50 }, (_, k) => 20_000 + s + k);
  fakePx.set(Array.from(await sampleFaces(model, seeds), (v) => v * 2 - 1), s * px);
}
model.dispose();

/** Age and gender features [N, 512] of images in [-1, 1], each under one augmentation draw. */
function features(images: Float32Array, tag: string): tf.Tensor2D {
  const parts: tf.Tensor2D[] = [];
  for (let s = 0; s < N; s += 50) {
    parts.push(tf.tidy(() => net.features(applyAugment(tf.tensor4d(images.subarray(s * px, (s + 50) * px), [50, S, S, 3]), drawAugment(`head-alone:${tag}:${s}`, 50, S, policy)))));
  }
  const out = tf.concat(parts) as tf.Tensor2D;
  tf.dispose(parts);
  return out;
}
const fr = features(realPx, 'real');
const ff = features(fakePx, 'fake');
const T = Math.round(0.8 * N);

const runs = [];
for (const standardise of [false, true]) {
  const trainReals = fr.slice([0, 0], [T, -1]);
  const mean = tf.mean(trainReals, 0, true);
  const std = tf.add(tf.sqrt(tf.mean(tf.square(tf.sub(trainReals, mean)), 0, true)), 1e-3);
  const input = (x: tf.Tensor2D) => (standardise ? (tf.div(tf.sub(x, mean), std) as tf.Tensor2D) : x);
  const head = new VisionHead(net.channels, randomVisionHeadStateDict(net.channels, 1));
  const optimizer = tf.train.adam(LR, 0, 0.99, 1e-8);
  const rng = seedrandom('head-alone');
  const lossEvery300: number[] = [];
  let sum = 0;
  for (let step = 1; step <= steps; step++) {
    const ir = Array.from({ length: BATCH }, () => Math.floor(rng() * T));
    const ig = Array.from({ length: BATCH }, () => Math.floor(rng() * T));
    const loss = optimizer.minimize(
      () => visionDiscriminatorLoss(head.forward(input(tf.gather(ff, ig))), head.forward(input(tf.gather(fr, ir)))),
      true,
      head.weights.variables(),
    ) as tf.Scalar;
    sum += loss.dataSync()[0];
    loss.dispose();
    if (step % 300 === 0) {
      lossEvery300.push(sum / 300);
      sum = 0;
    }
  }
  // Held out: balanced accuracy at the midpoint of the two sets' mean logits.
  const logits = (x: tf.Tensor2D) => Array.from(tf.tidy(() => head.forward(input(x.slice([T, 0], [-1, -1]))).dataSync()));
  const r = logits(fr);
  const g = logits(ff);
  const mr = r.reduce((a, b) => a + b, 0) / r.length;
  const mg = g.reduce((a, b) => a + b, 0) / g.length;
  const mid = (mr + mg) / 2;
  const heldOutAccuracy = (r.filter((v) => v > mid).length / r.length + g.filter((v) => v <= mid).length / g.length) / 2;
  runs.push({ features: standardise ? 'standardised' : 'raw', lossEvery300Steps: lossEvery300, heldOutAccuracy, heldOutMeanLogits: { real: mr, fake: mg } });
  console.log(`${standardise ? 'standardised' : 'raw'}: loss per 300 steps ${lossEvery300.map((v) => v.toFixed(3)).join(', ')}; held-out balanced accuracy ${heldOutAccuracy.toFixed(3)} (mean logits ${mr.toFixed(2)} real, ${mg.toFixed(2)} generated)`);
  optimizer.dispose();
  head.dispose();
  tf.dispose([trainReals, mean, std]);
}
writeJsonAtomic(
  values.out!,
  {
    kind: 'pulse-vision-head-alone',
    model: portablePath(modelPath),
    images: { real: `every 6th of the first ${6 * N} aligned train faces`, generated: `seeds 20000..${20_000 + N - 1}`, trainShare: 0.8 },
    augment: policy.join(','),
    steps,
    batch: BATCH,
    lr: LR,
    chanceLoss: 1.35,
    backend: backend.name,
    runs,
  },
  values.force,
);
console.log(`wrote ${values.out}`);
