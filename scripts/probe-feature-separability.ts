/**
 * Which frozen network tells a model's samples from real faces? A linear probe
 * (src/eval/linear-probe.ts: cross-validated logistic regression, balanced accuracy, 0.5 = chance)
 * on each network's features of the same samples and real dev faces: the model-selection rule
 * of vision-aided GAN training (Kumari et al., CVPR 2022). The samples are the first N of seed 1
 * (the ones `pulse eval-model` measures), the real faces the first N aligned dev faces at the
 * model's side (eval-model's), so the rows compare with its Frechet distance.
 *
 * Feature sets: the pixels (box-averaged to 16 x 16 x 3, a baseline any network should beat);
 * face-api's age and gender net (512, src/train/face-features.ts, the vision-aided arm's);
 * its expression net and its 68-point landmark net (256 each, src/eval/face-net-features.ts);
 * and the 128-d recognition descriptor, the measures' own network (the ruler: listed to show what
 * the measures see, not as a candidate), on the faces the detector finds.
 *
 * `--augment color,translation,cutout` first puts every image through one draw of the training's
 * DiffAugment (src/train/augment.ts; what the vision-aided head saw in training), real and
 * generated alike.
 *
 *   npx tsx scripts/probe-feature-separability.ts [--model DIR] [--faces 500] [--augment POLICY] \
 *     [--data ../shared/datasets/lfw] [--out experiments/descriptor-calibration/feature-separability.json] [--force]
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select.js';
import { boxDownscale } from '../src/eval/degrade.js';
import { analyzeFaces } from '../src/eval/face-analysis.js';
import { faceNetFeatures } from '../src/eval/face-net-features.js';
import { conventionOf, generateSamples, realDevFaces } from '../src/eval/evaluate-model.js';
import { linearProbe, type LinearProbeResult } from '../src/eval/linear-probe.js';
import { defaultModelPath } from '../src/model/default-model.js';
import { loadModel } from '../src/model/model.js';
import type { RgbImage } from '../src/io/image.js';
import { applyAugment, drawAugment, parseAugmentPolicy } from '../src/train/augment.js';
import { AgeGenderFeatures } from '../src/train/face-features.js';
import { writeJsonAtomic } from '../src/util/files.js';
import { portablePath } from '../src/util/repo-root.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    faces: { type: 'string', default: '500' },
    augment: { type: 'string', default: 'none' },
    data: { type: 'string', default: '../shared/datasets/lfw' },
    out: { type: 'string', default: 'experiments/descriptor-calibration/feature-separability.json' },
    force: { type: 'boolean', default: false },
  },
});
const faces = Number(values.faces);
const policy = parseAugmentPolicy(values.augment!);
if (!Number.isInteger(faces) || faces < 10) throw new Error(`--faces ${values.faces}: give an integer >= 10`);
if (existsSync(values.out!) && !values.force) throw new Error(`${values.out} already exists; pass --force to overwrite it, or choose another --out`);
if (!existsSync(values.data!)) throw new Error(`--data ${values.data}: no such folder (an LFW-style dataset with a dev split; ../shared/datasets/lfw here)`);

const backend = await initBackend();
const modelPath = values.model ?? defaultModelPath();
const model = await loadModel(modelPath);
const side = model.synthesis.config.resolution;
const SEED = 1; // eval-model's sample seed
const t0 = performance.now();
const drawn: RgbImage[] = [];
for (let start = 0; start < faces; start += 16) drawn.push(...(await generateSamples(model, start, Math.min(16, faces - start), SEED)));
const convention = conventionOf(model.metadata);
const devImages = (await realDevFaces(values.data!, faces, side, convention)).map((r) => r.image);
model.dispose();

/** The images under one DiffAugment draw (training's ranges), as [0, 1] images (not clamped, as the training nets see them). */
function augmented(images: readonly RgbImage[], what: string): RgbImage[] {
  if (policy.length === 0) return [...images];
  const n = images.length;
  const px = side * side * 3;
  const flat = new Float32Array(n * px);
  images.forEach((im, k) => flat.set(im.data, k * px));
  const out = tf.tidy(() => {
    const x = tf.sub(tf.mul(tf.tensor4d(flat, [n, side, side, 3]), 2), 1) as tf.Tensor4D;
    return tf.div(tf.add(applyAugment(x, drawAugment(`probe:${what}`, n, side, policy)), 1), 2);
  });
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return images.map((_, k) => ({ width: side, height: side, data: data.slice(k * px, (k + 1) * px) }));
}
/** Per-image statistics of a set (before any augmentation): what even the pixels tell apart. */
function imageStats(images: readonly RgbImage[]) {
  let contrast = 0, saturation = 0, low = 0, high = 0;
  for (const { data } of images) {
    const n = data.length;
    const mean = data.reduce((a, v) => a + v, 0) / n;
    contrast += Math.sqrt(data.reduce((a, v) => a + (v - mean) ** 2, 0) / n);
    let sat = 0;
    for (let p = 0; p < n; p += 3) {
      const mu = (data[p] + data[p + 1] + data[p + 2]) / 3;
      sat += Math.sqrt(((data[p] - mu) ** 2 + (data[p + 1] - mu) ** 2 + (data[p + 2] - mu) ** 2) / 3);
    }
    saturation += sat / (n / 3);
    for (const v of data) {
      if (v <= 0.001) low++;
      else if (v >= 0.999) high++;
    }
  }
  const values = images.length * images[0].data.length;
  return {
    contrast: contrast / images.length,
    saturation: saturation / images.length,
    shareAtZero: low / values,
    shareAtOne: high / values,
    note: 'means over images of: the standard deviation of all values, the RMS spread of R, G, B about their mean per pixel; shares of values <= 0.001 and >= 0.999',
  };
}
const stats = { real: imageStats(devImages), generated: imageStats(drawn) };
console.log(`images: contrast ${stats.real.contrast.toFixed(3)} real, ${stats.generated.contrast.toFixed(3)} generated; saturation ${stats.real.saturation.toFixed(3)}, ${stats.generated.saturation.toFixed(3)}; values at 0: ${(100 * stats.real.shareAtZero).toFixed(2)}%, ${(100 * stats.generated.shareAtZero).toFixed(2)}%; at 1: ${(100 * stats.real.shareAtOne).toFixed(2)}%, ${(100 * stats.generated.shareAtOne).toFixed(2)}%`);
const samples = augmented(drawn, 'generated');
const reals = augmented(devImages, 'real');
console.log(`${faces} samples of ${portablePath(modelPath)} and ${faces} dev faces (${convention}) at ${side} px; augmentation: ${policy.join(',') || 'none'}`);

const ageGender = AgeGenderFeatures.load();
async function ageGenderFeatures(images: readonly RgbImage[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let start = 0; start < images.length; start += 32) {
    const part = images.slice(start, start + 32);
    const f = tf.tidy(() => {
      const flat = new Float32Array(part.length * side * side * 3);
      part.forEach((im, k) => flat.set(im.data, k * side * side * 3));
      return ageGender.pooled255(tf.mul(tf.tensor4d(flat, [part.length, side, side, 3]), 255) as tf.Tensor4D);
    });
    const data = (await f.data()) as Float32Array;
    f.dispose();
    for (let k = 0; k < part.length; k++) out.push(data.slice(k * ageGender.channels, (k + 1) * ageGender.channels));
  }
  return out;
}
async function descriptors(images: readonly RgbImage[]): Promise<Float32Array[]> {
  return (await analyzeFaces(images, { descriptors: true })).flatMap((a) => (a.descriptor ? [a.descriptor] : []));
}
const factor = side / 16;
const featureSets: [string, string, (images: readonly RgbImage[]) => Promise<Float32Array[]>][] = [
  ['pixels', `the pixels box-averaged to 16 x 16 x 3 (${16 * 16 * 3})`, async (images) => images.map((im) => boxDownscale(im, factor).data as Float32Array)],
  ['age-gender', "face-api's age and gender net, pooled TinyXception features (512): the vision-aided arm of Session 17", ageGenderFeatures],
  ['expression', "face-api's expression net, pooled dense-block features (256)", (images) => faceNetFeatures('expression', images)],
  ['landmarks-68', "face-api's 68-point landmark net, pooled dense-block features (256); the alignment's network", (images) => faceNetFeatures('landmarks-68', images)],
  ['descriptor', "face-api's recognition descriptor (128), on the faces its detector finds: the measures' own network", descriptors],
];

const results: { features: string; description: string; probe: LinearProbeResult; seconds: number }[] = [];
for (const [name, description, extract] of featureSets) {
  const t = performance.now();
  const real = await extract(reals);
  const fake = await extract(samples);
  const probe = linearProbe(real, fake);
  const seconds = (performance.now() - t) / 1000;
  results.push({ features: name, description, probe, seconds });
  console.log(
    `${name.padEnd(13)} accuracy ${probe.accuracy.toFixed(3)} (folds ${probe.foldAccuracies.map((a) => a.toFixed(2)).join(' ')}; train ${probe.trainAccuracy.toFixed(3)}) on ${probe.sizes.a} real, ${probe.sizes.b} generated, ${probe.dimensions} features (${seconds.toFixed(0)} s)`,
  );
}
writeJsonAtomic(
  values.out!,
  {
    kind: 'pulse-feature-separability',
    model: portablePath(modelPath),
    faces,
    sampleSeed: SEED,
    realFaces: `the first ${faces} dev faces of ${portablePath(values.data!)} (${convention})`,
    resolution: side,
    augment: policy.join(',') || 'none',
    backend: backend.name,
    probe: 'balanced accuracy of L2 logistic regression, 5-fold stratified cross-validation (src/eval/linear-probe.ts); 0.5 is chance',
    seconds: (performance.now() - t0) / 1000,
    imageStats: stats,
    results,
  },
  values.force,
);
console.log(`wrote ${values.out}`);
