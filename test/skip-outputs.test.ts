/**
 * Skip outputs (StyleGAN2's `architecture='skip'`, src/stylegan/config.ts): the bilinear 2x
 * upsampling and its gradient, that the image is the sum the architecture defines, that a skip
 * network with silent lower toRGBs is exactly the v1 network, that the frozen (search) path
 * agrees with the trainable one, and that a skip run trains, resumes exactly and exports a model
 * that loads as skip.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestBackend } from './helpers/backend.js';
import { fakeSource } from './helpers/fake-source.js';
import { trainThroughCheckpoint } from './helpers/resume.js';
import type { StateDict } from '../src/io/state-dict.js';
import { type SynthesisConfig, DEFAULT_SYNTHESIS_CONFIG } from '../src/stylegan/config.js';
import { inferSynthesisConfig } from '../src/stylegan/params.js';
import { randomSynthesisStateDict } from '../src/stylegan/random-weights.js';
import { Synthesis } from '../src/stylegan/synthesis.js';
import { upsampleBilinear2x } from '../src/stylegan/upsample-bilinear.js';
import { resolveTrainConfig, type TrainConfig } from '../src/train/config.js';
import { Trainer, synthesisConfigFor } from '../src/train/trainer.js';
import { exportModel } from '../src/train/export.js';
import { loadModel } from '../src/model/model.js';
import { gaussian } from '../src/util/random.js';

beforeAll(async () => {
  await useTestBackend();
});

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  return (await tf.max(tf.abs(tf.sub(a, b))).data())[0];
}

const ORIG: SynthesisConfig = { ...DEFAULT_SYNTHESIS_CONFIG, resolution: 16, fmapBase: 64, fmapMax: 32 };
const SKIP: SynthesisConfig = { ...ORIG, architecture: 'skip' };

function inputs(batch: number): { dl: tf.Tensor3D; noise: tf.Tensor4D[] } {
  return {
    dl: tf.tensor3d(gaussian('skip:w', batch * 6 * 512), [batch, 6, 512]),
    noise: [4, 4, 8, 8, 16, 16].map((s, i) => tf.tensor4d(gaussian(`skip:n${i}`, batch * s * s), [batch, s, s, 1])),
  };
}

/** Skip weights with the lower toRGBs' biases non-zero, so that every term of the sum shows. */
function skipStateDict(seed: number): StateDict {
  const sd = randomSynthesisStateDict(SKIP, seed, 0.1);
  for (const name of ['torgb.4x4.bias', 'torgb.8x8.bias']) sd.set(name, { shape: [3], data: gaussian(`${seed}:${name}`, 3) });
  return sd;
}

describe('bilinear 2x upsampling', () => {
  it('is tf.image.resizeBilinear with half-pixel centres, and its gradient is the exact adjoint', async () => {
    const x = tf.tensor4d(gaussian('up:x', 2 * 3 * 5 * 2), [2, 3, 5, 2]);
    const up = upsampleBilinear2x(x);
    expect(up.shape).toEqual([2, 6, 10, 2]);
    expect(await maxAbsDiff(up, tf.image.resizeBilinear(x, [6, 10], false, true))).toBeLessThan(1e-6);
    // Each output pixel is 3/4 of its own input and 1/4 of the nearer neighbour (the edge clamps).
    const ramp = upsampleBilinear2x(tf.tensor4d([0, 4, 8], [1, 1, 3, 1]));
    expect(Array.from(await ramp.data())).toEqual([0, 1, 3, 5, 7, 8, 0, 1, 3, 5, 7, 8]);

    // The operator is linear, so its gradient against a cotangent y is <up(e_i), y> for each input e_i.
    const small: [number, number, number, number] = [1, 3, 3, 2];
    const y = tf.tensor4d(gaussian('up:y', 1 * 6 * 6 * 2), [1, 6, 6, 2]);
    const grad = await tf.grad((v: tf.Tensor) => tf.sum(tf.mul(upsampleBilinear2x(v as tf.Tensor4D), y)))(tf.zeros(small)).data();
    const n = small.reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; i++) {
      const basis = tf.oneHot([i], n).reshape(small).toFloat() as tf.Tensor4D;
      const expected = (await tf.sum(tf.mul(upsampleBilinear2x(basis), y)).data())[0];
      expect(Math.abs(grad[i] - expected), `input ${i}`).toBeLessThan(1e-5);
    }
  });
});

describe('a skip synthesis network', () => {
  it('adds a toRGB per lower block, after the official tensors, and is read back as skip', () => {
    const orig = randomSynthesisStateDict(ORIG, 4);
    const skip = randomSynthesisStateDict(SKIP, 4);
    expect([...skip.keys()].slice(0, orig.size)).toEqual([...orig.keys()]);
    expect([...skip.keys()].slice(orig.size)).toEqual(['torgb.4x4.weight', 'torgb.4x4.bias', 'torgb.8x8.weight', 'torgb.8x8.bias']);
    expect(skip.get('torgb.4x4.weight')!.shape).toEqual([3, 32, 1, 1]); // nf(1) = 64 / 2
    // The shared tensors are drawn per name: the same values in both networks.
    for (const [k, v] of orig) expect(Array.from(skip.get(k)!.data), k).toEqual(Array.from(v.data));
    expect(inferSynthesisConfig(skip, 'skip')).toEqual(SKIP);
    expect(inferSynthesisConfig(orig, 'orig')).toEqual(ORIG);
    expect('architecture' in inferSynthesisConfig(orig, 'orig')).toBe(false);
  });

  it('names what is missing or unknown', () => {
    const sd = randomSynthesisStateDict(SKIP, 4);
    sd.delete('torgb.8x8.bias');
    expect(() => Synthesis.fromStateDict(sd, 'w.bin', SKIP)).toThrow(/w.bin does not match the model architecture:\n {2}missing tensor 'torgb.8x8.bias' \(expected shape \[3\]\)/);
    expect(() => Synthesis.fromStateDict(randomSynthesisStateDict(SKIP, 4), 'w.bin', ORIG)).toThrow(/unexpected tensor 'torgb.4x4.weight'/);
    const resnet = { ...ORIG, architecture: 'resnet' } as unknown as SynthesisConfig;
    expect(() => Synthesis.fromStateDict(randomSynthesisStateDict(ORIG, 4), 'w.bin', resnet)).toThrow(/w.bin: synthesis architecture 'resnet' is not 'orig'/);
  });

  it('forms the image as the sum of every block\'s colours, each coarser one upsampled', async () => {
    const sd = skipStateDict(6);
    const net = Synthesis.fromStateDict(sd, 'test', SKIP, { trainable: true });
    const { dl, noise } = inputs(2);
    const [f4, f8, f16] = net.blockOutputs(dl, noise, 2);
    const rgb = (features: tf.Tensor4D, name: string) => {
      const w = sd.get(`${name}.weight`)!;
      const [out, inp] = w.shape;
      // PyTorch [out, in, 1, 1] -> tfjs [1, 1, in, out], with the equalised-lr He scale 1/sqrt(in).
      const filter = tf.transpose(tf.tensor4d(w.data, [out, inp, 1, 1]), [2, 3, 1, 0]).mul(1 / Math.sqrt(inp)) as tf.Tensor4D;
      return tf.add(tf.conv2d(features, filter, 1, 'valid'), tf.tensor1d(sd.get(`${name}.bias`)!.data)) as tf.Tensor4D;
    };
    const expected = tf.add(upsampleBilinear2x(tf.add(upsampleBilinear2x(rgb(f4, 'torgb.4x4')), rgb(f8, 'torgb.8x8')) as tf.Tensor4D), rgb(f16, 'torgb'));
    expect(await maxAbsDiff(net.forward(dl, noise), expected)).toBeLessThan(1e-5);
    net.dispose();
  });

  it('is exactly the v1 network when its lower toRGBs are silent (zero weights and biases)', async () => {
    const sd = randomSynthesisStateDict(SKIP, 7, 0.1);
    for (const name of ['torgb.4x4', 'torgb.8x8']) {
      for (const part of ['weight', 'bias']) sd.set(`${name}.${part}`, { ...sd.get(`${name}.${part}`)!, data: new Float32Array(sd.get(`${name}.${part}`)!.data.length) });
    }
    const skip = Synthesis.fromStateDict(sd, 'skip', SKIP);
    const orig = Synthesis.fromStateDict(randomSynthesisStateDict(ORIG, 7, 0.1), 'orig', ORIG);
    const { dl, noise } = inputs(2);
    expect(await maxAbsDiff(skip.forward(dl, noise), orig.forward(dl, noise))).toBe(0);
    skip.dispose();
    orig.dispose();
  });

  it('gives the search (frozen weights) the trainable network\'s image and latent gradient', async () => {
    const sd = skipStateDict(8);
    const trainable = Synthesis.fromStateDict(sd, 'test', SKIP, { trainable: true });
    const frozen = Synthesis.fromStateDict(sd, 'test', SKIP);
    const { dl, noise } = inputs(2);
    expect(await maxAbsDiff(frozen.forward(dl, noise), trainable.forward(dl, noise))).toBeLessThan(1e-5);
    const target = tf.tensor4d(gaussian('skip:target', 2 * 16 * 16 * 3), [2, 16, 16, 3]);
    const gradOf = (net: Synthesis) => tf.grad((w: tf.Tensor) => tf.sum(tf.square(tf.sub(net.forward(w as tf.Tensor3D, noise), target))))(dl);
    const [a, b] = [gradOf(frozen), gradOf(trainable)];
    const scale = (await tf.max(tf.abs(b)).data())[0];
    expect(scale).toBeGreaterThan(0);
    expect((await maxAbsDiff(a, b)) / scale).toBeLessThan(1e-4);
    frozen.dispose();
    trainable.dispose();
  });
});

const SKIP_RUN: Partial<TrainConfig> = { resolution: 16, fmapBase: 64, fmapMax: 64, batchSize: 4, r1Interval: 2, seed: 3, architecture: 'skip' };

describe('a skip training run', () => {
  it('refuses skip outputs with progressive growing, and an unknown architecture', () => {
    expect(() => resolveTrainConfig({ ...SKIP_RUN, growFrom: 8 })).toThrow(/growFrom=8 needs architecture 'orig': skip outputs replace progressive growing/);
    expect(() => resolveTrainConfig({ ...SKIP_RUN, architecture: 'resnet' as TrainConfig['architecture'] })).toThrow(/architecture=resnet must be 'orig'/);
    expect(synthesisConfigFor(resolveTrainConfig({ resolution: 16 }))).not.toHaveProperty('architecture');
    expect(synthesisConfigFor(resolveTrainConfig(SKIP_RUN)).architecture).toBe('skip');
  });

  it('trains every toRGB, resumes bitwise-exactly and exports a model that loads as skip', async () => {
    const cfg = resolveTrainConfig(SKIP_RUN);
    const straight = Trainer.create(cfg);
    const s1 = fakeSource(16);
    const before = await straight.g.synthesis.toStateDict();
    for (let i = 0; i < 4; i++) straight.step(s1);
    const after = await straight.g.synthesis.toStateDict();
    // The lower toRGBs learn (D's gradient reaches them through the summed image).
    for (const name of ['torgb.4x4.weight', 'torgb.8x8.weight', 'torgb.weight']) {
      expect(Array.from(after.get(name)!.data), name).not.toEqual(Array.from(before.get(name)!.data));
    }

    const { run, resumed, meta } = await trainThroughCheckpoint(cfg, 2, 2, 16, 'pulse-skip-');
    expect(meta.config.architecture).toBe('skip');
    const a = (await straight.checkpointTensors()).tensors;
    const b = (await resumed.checkpointTensors()).tensors;
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, v] of a) expect(Array.from(b.get(k)!.data), k).toEqual(Array.from(v.data));

    const dir = join(run, 'model');
    await exportModel(resumed, dir, { fitSamples: 2000 });
    const model = await loadModel(dir);
    expect(model.synthesis.config.architecture).toBe('skip');
    const { dl, noise } = inputs(1);
    // The loaded model runs the search's frozen ops: float rounding apart (relative to the image's scale, about 10 here).
    const trained = resumed.gEma.synthesis.forward(dl, noise);
    const scale = (await tf.max(tf.abs(trained)).data())[0];
    expect((await maxAbsDiff(model.synthesis.forward(dl, noise), trained)) / scale).toBeLessThan(1e-4);
    model.dispose();
    straight.dispose();
    resumed.dispose();
  });
});
