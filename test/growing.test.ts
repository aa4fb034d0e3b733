/**
 * Progressive growing (src/train/growing.ts): StyleGAN v1's schedule and fades, the seamless
 * hand-over at each phase boundary, that the grown generator is exactly the searched network,
 * and that a growing run resumes bitwise-exactly and exports only once grown.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestBackend } from './helpers/backend.js';
import { fakeSource } from './helpers/fake-source.js';
import { resolveTrainConfig, type TrainConfig } from '../src/train/config.js';
import { Trainer, synthesisConfigFor } from '../src/train/trainer.js';
import { loadCheckpoint, saveCheckpoint } from '../src/train/checkpoint.js';
import { exportModel } from '../src/train/export.js';
import { Discriminator, randomDiscriminatorStateDict } from '../src/train/discriminator.js';
import {
  GrowingOutputs,
  grownAtImages,
  growthStage,
  levelOfDetail,
  lodPhaseChanged,
  realsAtStage,
  upsampleNearest2x,
} from '../src/train/growing.js';
import { Synthesis } from '../src/stylegan/synthesis.js';
import { randomSynthesisStateDict } from '../src/stylegan/random-weights.js';
import { loadModel } from '../src/model/model.js';
import { gaussian } from '../src/util/random.js';

beforeAll(async () => {
  await useTestBackend();
});

async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  expect(a.shape).toEqual(b.shape);
  const d = (await tf.max(tf.abs(tf.sub(a, b))).data())[0];
  return d;
}

describe('growth schedule', () => {
  it("follows StyleGAN v1's level of detail: train a resolution, then fade in the next, linearly", () => {
    const s = { resolution: 64, fromResolution: 8, phaseImages: 100 };
    const lods = [0, 99, 100, 150, 200, 299, 300, 350, 400, 550, 600, 10_000].map((i) => levelOfDetail(s, i));
    expect(lods).toEqual([3, 3, 3, 2.5, 2, 2, 2, 1.5, 1, 0.5, 0, 0]);
    expect(grownAtImages({ resolution: 64, growFrom: 8, growPhaseImages: 100 })).toBe(600);
    expect(grownAtImages({ resolution: 64, growFrom: null, growPhaseImages: 100 })).toBe(0);
    expect(levelOfDetail({ resolution: 64, fromResolution: 64, phaseImages: 100 }, 0)).toBe(0);
  });

  it('names the block, the side and the fade of a level of detail', () => {
    expect(growthStage(64, 3)).toEqual({ block: 1, side: 8, fade: 0 });
    expect(growthStage(64, 2.25)).toEqual({ block: 2, side: 16, fade: 0.25 }); // 16 px fading in over 8 px
    expect(growthStage(64, 0)).toEqual({ block: 4, side: 64, fade: 0 });
  });

  it('restarts the optimisers where a fade starts or ends (v1: reset_opt_for_new_lod), nowhere else', () => {
    expect(lodPhaseChanged(3, 3)).toBe(false);
    expect(lodPhaseChanged(3, 2.96)).toBe(true);
    expect(lodPhaseChanged(2.96, 2.5)).toBe(false);
    expect(lodPhaseChanged(2.04, 2)).toBe(true);
    expect(lodPhaseChanged(0, 0)).toBe(false);
  });

  it('refuses a first resolution that is not a power of two from 8 to the model resolution', () => {
    expect(() => resolveTrainConfig({ resolution: 16, growFrom: 4 })).toThrow(/growFrom=4 must be a power of two from 8 to the resolution 16/);
    expect(() => resolveTrainConfig({ resolution: 16, growFrom: 32 })).toThrow(/growFrom=32/);
    expect(() => resolveTrainConfig({ resolution: 16, growFrom: 12 })).toThrow(/growFrom=12/);
    expect(() => resolveTrainConfig({ resolution: 16, growFrom: 8, growPhaseImages: 0 })).toThrow(/growPhaseImages=0 must be a positive integer/);
  });
});

describe('fades', () => {
  it('upsamples by nearest neighbour and fades reals toward their coarser version (v1 process_reals)', async () => {
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    expect(Array.from(await upsampleNearest2x(x).data())).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    const reals = tf.tensor4d(gaussian('reals', 2 * 8 * 8 * 3), [2, 8, 8, 3]);
    const at4 = realsAtStage(reals, { block: 0, side: 4, fade: 0 });
    expect(at4.shape).toEqual([2, 4, 4, 3]);
    const pooled = tf.avgPool(reals, 2, 2, 'valid');
    expect(await maxAbsDiff(at4, pooled)).toBeLessThan(1e-6);
    const faded = realsAtStage(reals, { block: 1, side: 8, fade: 0.25 });
    const expected = tf.add(tf.mul(reals, 0.75), tf.mul(upsampleNearest2x(pooled as tf.Tensor4D), 0.25));
    expect(await maxAbsDiff(faded, expected)).toBeLessThan(1e-6);
  });

  it("hands over seamlessly: a fade at 1 is the stage below, in G's images and in D's logits", async () => {
    const cfg = synthesisConfigFor(resolveTrainConfig({ resolution: 16, fmapBase: 64, fmapMax: 64 }));
    const synthesis = Synthesis.fromStateDict(randomSynthesisStateDict(cfg, 5, 0.1), 'test', cfg, { trainable: true });
    const outputs = new GrowingOutputs(cfg, 8, GrowingOutputs.initialStateDict(cfg, 8, 5));
    const dl = tf.tensor3d(gaussian('w', 2 * 6 * 512), [2, 6, 512]);
    const noise = [4, 4, 8, 8, 16, 16].map((s, i) => tf.tensor4d(gaussian(`n${i}`, 2 * s * s), [2, s, s, 1]));
    const at8 = outputs.image(synthesis, dl, noise, { block: 1, side: 8, fade: 0 });
    const fadedOut = outputs.image(synthesis, dl, noise, { block: 2, side: 16, fade: 1 });
    expect(await maxAbsDiff(fadedOut, upsampleNearest2x(at8))).toBeLessThan(1e-6);
    // Grown, G is exactly the network PULSE searches (its own toRGB, nothing else).
    const grown = outputs.image(synthesis, dl, noise, { block: 2, side: 16, fade: 0 });
    expect(await maxAbsDiff(grown, synthesis.forward(dl, noise))).toBe(0);

    const dCfg = { resolution: 16, fmapBase: 64, fmapDecay: 1, fmapMax: 64, mbstdGroup: 2, growFrom: 8 };
    const d = new Discriminator(dCfg, randomDiscriminatorStateDict(dCfg, 5));
    const img16 = tf.tensor4d(gaussian('img', 2 * 16 * 16 * 3), [2, 16, 16, 3]);
    const img8 = tf.avgPool(img16, 2, 2, 'valid') as tf.Tensor4D;
    expect(await maxAbsDiff(d.forward(img16, { side: 16, fade: 1 }), d.forward(img8, { side: 8, fade: 0 }))).toBeLessThan(1e-5);
    // At full size without a fade, the growing D is the plain D (its extra fromRGB unused).
    const plainCfg = { ...dCfg, growFrom: undefined };
    const plainSd = randomDiscriminatorStateDict(plainCfg, 5);
    const plain = new Discriminator(plainCfg, plainSd);
    expect(await maxAbsDiff(d.forward(img16), plain.forward(img16))).toBe(0);
    expect(() => d.forward(img8)).toThrow(/discriminator input is 8x8; this stage takes 16x16 images/);
    expect(() => plain.forward(img8, { side: 8, fade: 0 })).toThrow(/no fromRGB for 8x8: growing starts at 16 px/);
    for (const n of [synthesis, outputs, d, plain]) n.dispose();
  });
});

const GROWING: Partial<TrainConfig> = { resolution: 16, fmapBase: 64, fmapMax: 64, batchSize: 4, r1Interval: 2, seed: 3, growFrom: 8, growPhaseImages: 8 };


describe('a growing run', () => {
  it('trains 8 px, fades in 16 px, restarts its optimisers at each boundary, and leaks no tensors', async () => {
    const t = Trainer.create(resolveTrainConfig(GROWING));
    const src = fakeSource(16);
    const first = t.step(src);
    const base = tf.memory().numTensors;
    const rest = [t.step(src), t.step(src), t.step(src), t.step(src)];
    // Optimiser moments are dropped at each reset and re-made; by the last step they exist again.
    const lods = [first, ...rest].map((s) => s.lod);
    expect(lods).toEqual([1, 1, 1, 0.5, 0]);
    expect(tf.memory().numTensors).toBe(base);
    for (const s of rest) expect(Number.isFinite(s.lossD) && Number.isFinite(s.lossG)).toBe(true);
    // Reset before the step at images 16 (the fade ended): one G step since.
    const { optimizer } = await t.checkpointTensors();
    expect(optimizer.g.t).toBe(1);
    const grid = await t.sample(2);
    expect(grid.length).toBe(2 * 16 * 16 * 3);
    t.dispose();
  });

  it('resumes bitwise-exactly across a fade, and exports only once grown', async () => {
    const cfg = resolveTrainConfig(GROWING);
    const straight = Trainer.create(cfg);
    const s1 = fakeSource(16);
    for (let i = 0; i < 5; i++) straight.step(s1);

    const run = mkdtempSync(join(tmpdir(), 'pulse-grow-'));
    const first = Trainer.create(cfg);
    const s2 = fakeSource(16);
    for (let i = 0; i < 3; i++) first.step(s2);
    await expect(exportModel(first, join(run, 'early'), { fitSamples: 100 })).rejects.toThrow(
      /still growing \(level of detail 0.500 after 12 images, training at 16 px\); its 16 px output is not trained yet. Train on to 16 images first/,
    );
    await saveCheckpoint(run, first, s2.state(), { test: true }, 'test');
    first.dispose();
    const { trainer: resumed, meta } = await loadCheckpoint(run);
    expect(meta.config).toMatchObject({ growFrom: 8, growPhaseImages: 8 });
    const s3 = fakeSource(16, meta.sampler as number);
    for (let i = 0; i < 2; i++) resumed.step(s3);

    const a = (await straight.checkpointTensors()).tensors;
    const b = (await resumed.checkpointTensors()).tensors;
    expect([...b.keys()]).toEqual([...a.keys()]);
    expect([...a.keys()].filter((k) => k.startsWith('Gema.grow.'))).toEqual(['Gema.grow.torgb.8x8.weight', 'Gema.grow.torgb.8x8.bias']);
    expect([...a.keys()].filter((k) => k.startsWith('D.fromrgb'))).toEqual(['D.fromrgb.weight', 'D.fromrgb.bias', 'D.fromrgb.8x8.weight', 'D.fromrgb.8x8.bias']);
    for (const [k, v] of a) expect(Array.from(b.get(k)!.data), k).toEqual(Array.from(v.data));

    const dir = join(run, 'model');
    await exportModel(resumed, dir, { fitSamples: 2000 });
    const model = await loadModel(dir);
    expect(model.synthesis.config.resolution).toBe(16);
    model.dispose();
    straight.dispose();
    resumed.dispose();
  });
});
