/**
 * pulse train on a tiny configuration: losses are finite, nothing leaks, R1 (a second
 * derivative) works, checkpoints resume bitwise-exactly, and export gives a model PULSE loads.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestBackend } from './helpers/backend.js';
import { fakeSource } from './helpers/fake-source.js';
import { trainThroughCheckpoint } from './helpers/resume.js';
import { resolveTrainConfig, type TrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { modeSeekingTerm } from '../src/train/mode-seeking.js';
import { loadCheckpoint, setAsideLogBeyond, trainedConfig } from '../src/train/checkpoint.js';
import { exportModel } from '../src/train/export.js';
import { emaBeta } from '../src/train/ema.js';
import { Discriminator, downsample2x, minibatchStddev, randomDiscriminatorStateDict } from '../src/train/discriminator.js';
import { loadModel } from '../src/model/model.js';
import { sampleFaces } from '../src/model/sample.js';
import { BatchSampler } from '../src/data/batches.js';
import { gaussian } from '../src/util/random.js';
import { type TrainingLogLine, ema, joinTrainingLogs, readTrainingLog, trainingFigure } from '../src/train/training-figure.js';
import { renderPlotSvg } from '../src/plot/plot-svg.js';
import { writePng } from '../src/io/image.js';
import { runCli } from './helpers/cli.js';

beforeAll(async () => {
  await useTestBackend();
});

const TINY: Partial<TrainConfig> = { resolution: 16, fmapBase: 64, fmapMax: 64, batchSize: 4, r1Interval: 2, seed: 3 };


describe('Trainer', () => {
  it('steps with finite losses, computes R1 every r1Interval steps, and leaks no tensors', () => {
    const t = Trainer.create(resolveTrainConfig(TINY));
    const src = fakeSource(16);
    t.step(src); // allocates the optimisers' moments
    const base = tf.memory().numTensors;
    const stats = [t.step(src), t.step(src), t.step(src)];
    expect(tf.memory().numTensors).toBe(base);
    for (const s of stats) {
      expect(Number.isFinite(s.lossD) && Number.isFinite(s.lossG)).toBe(true);
    }
    expect(stats.map((s) => s.r1 !== null)).toEqual([false, true, false]); // steps 1, 2, 3 (0-based index)
    expect(t.state.images).toBe(16);
    t.dispose();
  });

  it.each(['none', 'color,translation,cutout'])('resumes from a checkpoint bitwise-exactly (augment %s)', async (augment) => {
    const cfg = resolveTrainConfig({ ...TINY, augment });
    const straight = Trainer.create(cfg);
    const s1 = fakeSource(16);
    for (let i = 0; i < 4; i++) straight.step(s1);

    const { run, resumed } = await trainThroughCheckpoint(cfg, 2, 2, 16);

    const a = (await straight.checkpointTensors()).tensors;
    const b = (await resumed.checkpointTensors()).tensors;
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [k, v] of a) expect(Array.from(b.get(k)!.data), k).toEqual(Array.from(v.data));
    expect(resumed.state.step).toBe(4);
    expect(readdirSync(run)).toEqual(['checkpoint']);
    // checksummed: a flipped byte is found on load, naming the tensor
    const bin = join(run, 'checkpoint', 'weights.bin');
    const bytes = readFileSync(bin);
    bytes[4096] ^= 0xff;
    writeFileSync(bin, bytes);
    await expect(loadCheckpoint(run)).rejects.toThrow(/tensor '.+' fails its sha256 check/);
    straight.dispose();
    resumed.dispose();
  });

  it('exports a model directory that loads and draws faces', async () => {
    const t = Trainer.create(resolveTrainConfig(TINY));
    t.step(fakeSource(16));
    const dir = join(mkdtempSync(join(tmpdir(), 'pulse-export-')), 'model');
    await exportModel(t, dir, { fitSamples: 2000 });
    t.dispose();
    const model = await loadModel(dir);
    expect(model.synthesis.config.resolution).toBe(16);
    expect(model.mapping).not.toBeNull();
    const faces = await sampleFaces(model, [1, 2]);
    expect(faces.length).toBe(2 * 16 * 16 * 3);
    const again = await sampleFaces(model, [2]);
    const alone = faces.subarray(16 * 16 * 3);
    const worst = Math.max(...Array.from(again, (v, i) => Math.abs(v - alone[i])));
    expect(worst).toBeLessThan(1e-4); // batching changes float rounding only
    model.dispose();
  });
});

describe('noise only up to a side (noiseMaxSide)', () => {
  it('keeps the finer layers\' noise strengths at exactly 0 while the coarser ones train; the option is checked', async () => {
    const t = Trainer.create(resolveTrainConfig({ ...TINY, noiseMaxSide: 8 }));
    const src = fakeSource(16);
    for (let i = 0; i < 3; i++) t.step(src);
    const { tensors } = await t.checkpointTensors();
    const strengths = [...tensors].filter(([k]) => /^G(ema)?\.synthesis\..*\.noise\.weight$/.test(k));
    expect(strengths.map(([k]) => k)).toContain('G.synthesis.blocks.16x16.epi2.noise.weight');
    for (const [name, { data }] of strengths) {
      const moved = data.some((v) => v !== 0);
      expect(moved, name).toBe(!name.includes('16x16'));
    }
    // The sample grid draws with the same rule: the 16 px noise changes nothing.
    expect((await t.sample(2)).every(Number.isFinite)).toBe(true);
    t.dispose();
    expect(() => resolveTrainConfig({ resolution: 16, noiseMaxSide: 32 })).toThrow(/noiseMaxSide=32 must be a power of two from 4 to the resolution 16/);
    expect(() => resolveTrainConfig({ resolution: 16, noiseMaxSide: 6 })).toThrow(/noiseMaxSide=6/);
    expect(resolveTrainConfig({ resolution: 16 }).noiseMaxSide).toBeNull();
  });
});

describe('vision-aided discriminator (visionAided)', () => {
  const VISION: Partial<TrainConfig> = { ...TINY, augment: 'color,translation,cutout', visionAided: 'age-gender' };

  it('trains a head on the frozen features, steers G through them, leaves D alone, and leaks no tensors', async () => {
    const t = Trainer.create(resolveTrainConfig(VISION));
    const src = fakeSource(16);
    const headBefore = await t.vision!.head.toStateDict();
    t.step(src);
    const base = tf.memory().numTensors;
    const stats = [t.step(src), t.step(src)];
    expect(tf.memory().numTensors).toBe(base);
    for (const s of stats) {
      expect(s.vision).toBeDefined();
      expect([s.vision!.lossD, s.vision!.realScore, s.vision!.fakeScore].every(Number.isFinite)).toBe(true);
    }
    const headAfter = await t.vision!.head.toStateDict();
    expect([...headAfter.keys()]).toEqual(['vision.hidden.weight', 'vision.hidden.bias', 'vision.out.weight', 'vision.out.bias']);
    expect(Array.from(headAfter.get('vision.hidden.weight')!.data)).not.toEqual(Array.from(headBefore.get('vision.hidden.weight')!.data));
    t.dispose();

    // Same seed with the vision weight at 0: D's weights come out the same (the head is beside it,
    // not in it), G's differ (its loss has the vision term).
    const one = Trainer.create(resolveTrainConfig(VISION));
    const off = Trainer.create(resolveTrainConfig({ ...VISION, visionWeight: 0 }));
    one.step(fakeSource(16));
    off.step(fakeSource(16));
    const a = (await one.checkpointTensors()).tensors;
    const b = (await off.checkpointTensors()).tensors;
    expect(Array.from(a.get('D.final.out.weight')!.data)).toEqual(Array.from(b.get('D.final.out.weight')!.data));
    expect(Array.from(a.get('G.synthesis.torgb.weight')!.data)).not.toEqual(Array.from(b.get('G.synthesis.torgb.weight')!.data));
    one.dispose();
    off.dispose();
    expect(() => resolveTrainConfig({ visionAided: 'clip' as TrainConfig['visionAided'] })).toThrow(/visionAided=clip must be one of none, age-gender/);
    expect(() => resolveTrainConfig({ visionWeight: -1 })).toThrow(/visionWeight=-1 must be >= 0/);
  });

  it('resumes bitwise-exactly (head and its Adam in the checkpoint), and a branch switches it on from the initial head', async () => {
    const cfg = resolveTrainConfig(VISION);
    const straight = Trainer.create(cfg);
    const s1 = fakeSource(16);
    for (let i = 0; i < 4; i++) straight.step(s1);
    const { resumed, meta } = await trainThroughCheckpoint(cfg, 2, 2, 16);
    expect(meta.optimizerSteps.v).toBe(2);
    const a = (await straight.checkpointTensors()).tensors;
    const b = (await resumed.checkpointTensors()).tensors;
    expect([...b.keys()]).toEqual([...a.keys()]);
    expect([...a.keys()].filter((k) => k.startsWith('V.') || k.startsWith('optV.')).length).toBeGreaterThan(4);
    for (const [k, v] of a) expect(Array.from(b.get(k)!.data), k).toEqual(Array.from(v.data));
    straight.dispose();
    resumed.dispose();

    // A run without it, branched with it: the same G and D, a head from its initialisation.
    const plain = resolveTrainConfig({ ...TINY, augment: 'color,translation,cutout' });
    const { run, resumed: parent } = await trainThroughCheckpoint(plain, 2, 0, 16);
    parent.dispose();
    const { trainer: branch } = await loadCheckpoint(run, { visionAided: 'age-gender' });
    expect(branch.config.visionAided).toBe('age-gender');
    const fresh = Trainer.create(cfg);
    expect(Array.from((await branch.vision!.head.toStateDict()).get('vision.out.weight')!.data)).toEqual(
      Array.from((await fresh.vision!.head.toStateDict()).get('vision.out.weight')!.data),
    );
    fresh.dispose();
    expect(branch.step(fakeSource(16, 2)).vision).toBeDefined();
    branch.dispose();
    // A checkpoint older than the option reads as trained without it (what a branch record names as the parent's value).
    const { visionAided: _v, visionWeight: _w, ...older } = plain;
    const olderMeta = { config: older } as unknown as Parameters<typeof trainedConfig>[0];
    expect(trainedConfig(olderMeta)).toMatchObject({ visionAided: 'none', visionWeight: 1, noiseMaxSide: null });
  });
});

describe('mode-seeking term (modeSeeking)', () => {
  it('is 1 / (mean ratio of feature to latent difference) over paired halves, and refuses an odd batch', async () => {
    const f = tf.tensor2d([[0, 0], [1, 1], [2, 4], [3, 1]]);
    const z = tf.tensor2d([[0, 0, 0], [0, 0, 0], [1, 1, 1], [0, 2, 2]]);
    // pairs (0, 2) and (1, 3): feature differences 3 and 1, latent differences 1 and 4/3
    const { term, ratio } = modeSeekingTerm(f, z);
    expect(ratio.dataSync()[0]).toBeCloseTo((3 / 1 + 1 / (4 / 3)) / 2, 5);
    expect(term.dataSync()[0]).toBeCloseTo(1 / (3.75 / 2 + 1e-5), 5);
    expect(() => modeSeekingTerm(tf.zeros([3, 2]) as tf.Tensor2D, tf.zeros([3, 2]) as tf.Tensor2D)).toThrow(/needs an even number/);
    tf.dispose([f, z, term, ratio]);
    expect(() => resolveTrainConfig({ modeSeeking: -1 })).toThrow(/modeSeeking=-1 must be >= 0/);
    expect(() => resolveTrainConfig({ ...TINY, batchSize: 3, mbstdGroup: 1, modeSeeking: 1 })).toThrow(/batchSize=3 must be even/);
  });

  it('steers G (not D), logs the ratio, and leaks no tensors', async () => {
    const on = Trainer.create(resolveTrainConfig({ ...TINY, modeSeeking: 1 }));
    const off = Trainer.create(resolveTrainConfig(TINY));
    const src = fakeSource(16);
    const first = on.step(src);
    off.step(fakeSource(16));
    expect(first.modeSeekingRatio).toBeGreaterThan(0);
    expect(first.vision).toBeUndefined();
    const a = (await on.checkpointTensors()).tensors;
    const b = (await off.checkpointTensors()).tensors;
    expect([...a.keys()]).toEqual([...b.keys()]); // no head, no extra state
    expect(Array.from(a.get('D.final.out.weight')!.data)).toEqual(Array.from(b.get('D.final.out.weight')!.data));
    expect(Array.from(a.get('G.synthesis.torgb.weight')!.data)).not.toEqual(Array.from(b.get('G.synthesis.torgb.weight')!.data));
    const base = tf.memory().numTensors;
    expect(Number.isFinite(on.step(src).modeSeekingRatio)).toBe(true);
    expect(tf.memory().numTensors).toBe(base);
    on.dispose();
    off.dispose();
  });
});

describe("the mapping network's learning rate (mappingLrMul)", () => {
  /** Each G variable's change over one step from the same start, by name. */
  async function firstStepDeltas(mappingLrMul: number): Promise<Map<string, Float32Array>> {
    const t = Trainer.create(resolveTrainConfig({ ...TINY, mappingLrMul }));
    const before = (await t.checkpointTensors()).tensors;
    t.step(fakeSource(16));
    const after = (await t.checkpointTensors()).tensors;
    t.dispose();
    const deltas = new Map<string, Float32Array>();
    for (const [name, a] of after) {
      if (!name.startsWith('G.')) continue;
      const b = before.get(name)?.data as Float32Array;
      deltas.set(name, (a.data as Float32Array).map((x, i) => x - b[i]));
    }
    return deltas;
  }

  it("scales the mapping network's Adam steps by mappingLrMul / 0.01 and leaves every other step as it was", async () => {
    const base = await firstStepDeltas(0.01);
    const fast = await firstStepDeltas(0.1);
    let mappingSeen = 0;
    expect(base.size).toBeGreaterThan(16);
    for (const [name, d0] of base) {
      const d1 = fast.get(name) as Float32Array;
      if (name.startsWith('G.mapping.')) {
        mappingSeen++;
        const moved = d0.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        expect(moved, name).toBeGreaterThan(0);
        // float32: the weights are ~100 in the architecture's parametrisation, so steps lose digits.
        for (let i = 0; i < d0.length; i++) expect(Math.abs(d1[i] - 10 * d0[i]), `${name}[${i}]`).toBeLessThanOrEqual(1e-3 * moved * 10 + 2e-5);
      } else {
        expect(Array.from(d1), name).toEqual(Array.from(d0)); // the same first step, bit for bit
      }
    }
    expect(mappingSeen).toBe(16); // 8 layers, weight and bias
  });

  it('defaults to the architecture\'s 0.01, old checkpoints resume with it, and it must be positive', () => {
    expect(resolveTrainConfig({}).mappingLrMul).toBe(0.01);
    const meta = { config: { ...resolveTrainConfig(TINY), mappingLrMul: undefined } } as unknown as Parameters<typeof trainedConfig>[0];
    expect(trainedConfig(meta).mappingLrMul).toBe(0.01);
    expect(() => resolveTrainConfig({ ...TINY, mappingLrMul: 0 })).toThrow(/mappingLrMul=0 must be > 0/);
  });
});

describe('resuming from an older checkpoint than the log', () => {
  it('moves the log lines past the checkpoint step aside, never over an earlier file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-log-'));
    const log = join(dir, 'log.jsonl');
    const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => JSON.stringify({ step: from + i, lossD: 1 })).join('\n') + '\n';
    expect(setAsideLogBeyond(dir, 3)).toBeNull(); // no log yet
    writeFileSync(log, lines(1, 10));
    expect(setAsideLogBeyond(dir, 10)).toBeNull();
    const aside = setAsideLogBeyond(dir, 6);
    expect(aside).toBe(join(dir, 'log.beyond-step-6.jsonl'));
    expect(readFileSync(log, 'utf8')).toBe(lines(1, 6));
    expect(readFileSync(aside!, 'utf8')).toBe(lines(7, 10));
    writeFileSync(log, lines(1, 8));
    expect(setAsideLogBeyond(dir, 6)).toBe(join(dir, 'log.beyond-step-6-2.jsonl'));
    expect(readFileSync(aside!, 'utf8')).toBe(lines(7, 10)); // the first one is untouched
    writeFileSync(log, `${lines(1, 2)}\nnot json\n`); // line 3 blank, line 4 broken
    expect(() => setAsideLogBeyond(dir, 1)).toThrow(/log\.jsonl:4 is not a JSON line/);
  });
});

describe('discriminator pieces', () => {
  it('downsample2x averages 2x2 blocks', async () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]);
    expect(Array.from(await downsample2x(x).data())).toEqual([3.5, 5.5, 11.5, 13.5]);
  });

  it('minibatch stddev appends the per-group mean std as one channel', async () => {
    const x = tf.tensor4d(gaussian('mb', 8 * 2 * 2 * 3), [8, 2, 2, 3]);
    const y = minibatchStddev(x, 4);
    expect(y.shape).toEqual([8, 2, 2, 4]);
    const data = await x.array();
    // group j holds samples j, j+2, j+4, j+6
    for (const j of [0, 1]) {
      let acc = 0;
      for (let h = 0; h < 2; h++)
        for (let w = 0; w < 2; w++)
          for (let c = 0; c < 3; c++) {
            const vals = [0, 1, 2, 3].map((k) => data[k * 2 + j][h][w][c]);
            const m = vals.reduce((a, b) => a + b) / 4;
            acc += Math.sqrt(vals.reduce((a, b) => a + (b - m) ** 2, 0) / 4 + 1e-8);
          }
      const feat = (await y.array())[j][0][0][3];
      expect(feat).toBeCloseTo(acc / 12, 5);
    }
  });

  it('R1 gradient (a second derivative) matches finite differences on one weight', async () => {
    const cfg = { resolution: 8, fmapBase: 16, fmapDecay: 1, fmapMax: 16, mbstdGroup: 2 };
    const d = new Discriminator(cfg, randomDiscriminatorStateDict(cfg, 1));
    const reals = tf.tensor4d(gaussian('r1', 2 * 8 * 8 * 3), [2, 8, 8, 3]);
    const r1 = () => {
      const g = tf.grad((x: tf.Tensor) => tf.sum(d.forward(x as tf.Tensor4D)))(reals);
      return tf.sum(tf.square(g)) as tf.Scalar;
    };
    const v = d.weights.variables().find((x) => x.name.startsWith('disc.final.dense.bias'))!;
    const { grads } = tf.variableGrads(r1, [v]);
    const analytic = (await grads[v.name].data())[0];
    const h = 1e-2;
    const base = await v.data();
    const at = async (delta: number) => {
      const copy = Float32Array.from(base);
      copy[0] += delta;
      v.assign(tf.tensor(copy, v.shape));
      return (await r1().data())[0];
    };
    const numeric = ((await at(h)) - (await at(-h))) / (2 * h);
    v.assign(tf.tensor(base, v.shape));
    expect(Math.abs(analytic - numeric)).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
    d.dispose();
  });

  it('EMA beta ramps up with the images seen', () => {
    expect(emaBeta(16, 10_000, 0.05, 1_000_000)).toBeCloseTo(0.5 ** (16 / 10_000), 12);
    expect(emaBeta(16, 10_000, 0.05, 320)).toBeCloseTo(0.5 ** (16 / 16), 12);
  });

  it('the batch sampler is what the CLI checkpoints (JSON round trip)', () => {
    const s = new BatchSampler(10, 4, 'x');
    s.next();
    const r = BatchSampler.restore(JSON.parse(JSON.stringify(s.state())));
    expect(r.next()).toEqual(s.next());
  });
});

describe('training curves', () => {
  it('read log.jsonl (errors name the line), smooth with a debiased EMA, draw four panels', async () => {
    expect(ema([4, 4, 4], 10)).toEqual([4, 4, 4]); // debiased: no ramp from 0
    const e = ema([0, 10], 1); // span 1: alpha 1, the raw values
    expect(e).toEqual([0, 10]);
    const dir = mkdtempSync(join(tmpdir(), 'pulse-trainlog-'));
    const file = join(dir, 'log.jsonl');
    const line = (step: number, r1: number | null) =>
      JSON.stringify({ step, images: step * 16, lossD: 1 / step, lossG: step, r1, realScore: 1, fakeScore: -1, imagesPerSecond: 10 });
    writeFileSync(file, `${line(1, null)}\n${line(2, 0.5)}\n\n${line(3, null)}\n`);
    const log = readTrainingLog(file);
    expect(log.map((l) => l.images)).toEqual([16, 32, 48]);
    const fig = trainingFigure(log, 't', 1);
    expect(fig.data.map((t) => t.name)).toEqual(['loss D', 'loss G', 'D(real)', 'D(fake)', 'R1', 'images / s']);
    expect(fig.data[1].y).toEqual([1, 2, 3]);
    expect(fig.data[4].x).toEqual([32]);
    expect(new Set(fig.data.map((t) => t.yaxis))).toEqual(new Set(['y', 'y2', 'y3', 'y4']));
    const svg = await renderPlotSvg(fig);
    expect(svg.ok).toBe(true);
    writeFileSync(file, `${line(1, null)}\n{"step": 2}\n`);
    expect(() => readTrainingLog(file)).toThrow(/log\.jsonl:2 lacks images, lossD or lossG/);
    writeFileSync(file, 'oops\n');
    expect(() => readTrainingLog(file)).toThrow(/log\.jsonl:1 is not a JSON line/);
    writeFileSync(file, '\n');
    expect(() => readTrainingLog(file)).toThrow(/has no log lines/);
  });

  it("joins a branched run's logs: the branch takes over from its first line, the parent's continuation is dropped", () => {
    const lines = (from: number, to: number, lossG: number) =>
      Array.from({ length: to - from + 1 }, (_, i): TrainingLogLine => ({ step: from + i, images: (from + i) * 16, lossD: 1, lossG, r1: null, realScore: 1, fakeScore: -1, seconds: 1 }));
    const parent = { path: 'parent/log.jsonl', lines: lines(1, 10, 0) };
    const control = { path: 'control/log.jsonl', lines: lines(8, 12, 1) }; // the parent's run resumed from step 7
    const branch = { path: 'branch/log.jsonl', lines: lines(11, 14, 2) };
    const joined = joinTrainingLogs([parent, control, branch]);
    expect(joined.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(joined.map((l) => l.lossG)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2]);
    expect(joinTrainingLogs([parent])).toEqual(parent.lines);
    expect(() => joinTrainingLogs([branch, parent])).toThrow(/parent\/log\.jsonl starts at 16 images, before branch\/log\.jsonl began \(176\): give the logs oldest run first/);
  });
});

describe('pulse train (command line)', () => {
  it('trains on a plain folder, logs, samples, checkpoints, refuses to overwrite, resumes to the budget, branches', async () => {
    const root = mkdtempSync(join(tmpdir(), 'pulse-train-cli-'));
    const data = join(root, 'faces');
    mkdirSync(data);
    for (let i = 0; i < 6; i++) {
      const px = gaussian(`face:${i}`, 20 * 20 * 3).map((v) => Math.min(1, Math.max(0, 0.5 + 0.2 * v)));
      await writePng(join(data, `f${i}.png`), { width: 20, height: 20, data: px });
    }
    const run = join(root, 'run');
    const base = ['train', '--data', data, '--split', 'all', '--crop', 'center', '--out', run, '--res', '16', '--fmap-base', '64', '--fmap-max', '64', '--batch', '4'];
    const flags = ['--checkpoint-every', '1', '--sample-every', '2', '--augment', 'color,translation', '--quiet'];
    const first = await runCli([...base, ...flags, '--total-images', '8']);
    expect(first.code, first.err).toBe(0);
    expect(first.err).toMatch(/checkpoint at step 2 \(8 images/);
    expect(readdirSync(join(run, 'samples')).sort()).toEqual(['latest.png', 'step-0000002.png']);
    const again = await runCli([...base, ...flags, '--total-images', '8']);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already holds a training run; pass --resume/);
    const resumed = await runCli([...base, ...flags, '--total-images', '12', '--resume', '--augment', 'none']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/notice: resuming, so --augment none \(the run has color,translation\) is ignored/);
    expect(resumed.err).not.toMatch(/--fmap-base/); // given, but equal to the run's
    expect(resumed.err).toMatch(/resumed .* at step 2 \(8 images\)/);
    expect(resumed.err).toMatch(/checkpoint at step 3 \(12 images/);
    const { meta } = await loadCheckpoint(run);
    expect(meta.config.augment).toBe('color,translation');
    expect(meta.data).toMatchObject({ count: 6 });
    const log = readTrainingLog(join(run, 'log.jsonl'));
    // every 5th step and every R1 step (r1Interval 16: the first step) is logged, once across the resume
    expect(log.map((l) => l.step)).toEqual([1]);
    expect(log[0].r1).not.toBeNull();
    // A branch: the same weights and counters under a new learning rate, the parent only read.
    const parentBefore = readFileSync(join(run, 'checkpoint', 'model.json'), 'utf8');
    const branchDir = join(root, 'branch');
    const branched = await runCli([...base.slice(0, 7), '--out', branchDir, '--branch-from', run, '--lr', '0.001', '--total-images', '16', '--checkpoint-every', '1', '--quiet']);
    expect(branched.code, branched.err).toBe(0);
    expect(branched.err).toMatch(/branched .* at step 3 \(12 images\); changed: lrG 0.002 -> 0.001, lrD 0.002 -> 0.001, totalImages 12 -> 16/);
    expect(branched.err).toMatch(/checkpoint at step 4 \(16 images/);
    expect(readFileSync(join(run, 'checkpoint', 'model.json'), 'utf8')).toBe(parentBefore);
    const record = JSON.parse(readFileSync(join(branchDir, 'branch.json'), 'utf8'));
    expect(record).toMatchObject({ step: 3, images: 12, changed: { lrG: { parent: 0.002, branch: 0.001 } } });
    const branchMeta = (await loadCheckpoint(branchDir)).meta;
    expect(branchMeta.config).toMatchObject({ lrG: 0.001, lrD: 0.001, augment: 'color,translation', resolution: 16 });
    // A branch may switch the vision-aided discriminator on (its head starts fresh) and add the mode-seeking term.
    const visionDir = join(root, 'vision');
    const vision = await runCli([...base.slice(0, 7), '--out', visionDir, '--branch-from', run, '--vision-aided', 'age-gender', '--vision-weight', '0.5', '--mode-seeking', '0.25', '--total-images', '16', '--quiet']);
    expect(vision.code, vision.err).toBe(0);
    expect(vision.err).toMatch(/changed: visionAided none -> age-gender, visionWeight 1 -> 0.5, modeSeeking 0 -> 0.25, totalImages 12 -> 16/);
    expect((await loadCheckpoint(visionDir)).meta).toMatchObject({ config: { visionAided: 'age-gender', visionWeight: 0.5, modeSeeking: 0.25 }, optimizerSteps: { v: 1 } });
    // ... and change the minibatch-stddev group (D's weights keep their shapes) to one the parent's batch (4) allows.
    const mbstdDir = join(root, 'mbstd');
    const mbstd = await runCli([...base.slice(0, 7), '--out', mbstdDir, '--branch-from', run, '--mbstd-group', '2', '--total-images', '16', '--quiet']);
    expect(mbstd.code, mbstd.err).toBe(0);
    expect(mbstd.err).toMatch(/changed: mbstdGroup 4 -> 2, totalImages 12 -> 16/);
    expect((await loadCheckpoint(mbstdDir)).trainer.config.mbstdGroup).toBe(2);
    // ... and give the mapping network a larger share of the learning rate (its parametrisation stays the architecture's).
    const mapDir = join(root, 'mapping');
    const mapping = await runCli([...base.slice(0, 7), '--out', mapDir, '--branch-from', run, '--mapping-lr-mul', '1', '--total-images', '16', '--quiet']);
    expect(mapping.code, mapping.err).toBe(0);
    expect(mapping.err).toMatch(/changed: mappingLrMul 0.01 -> 1, totalImages 12 -> 16/);
    expect((await loadCheckpoint(mapDir)).trainer.config.mappingLrMul).toBe(1);
    const badGroup = await runCli([...base.slice(0, 7), '--out', join(root, 'mbstd3'), '--branch-from', run, '--mbstd-group', '3', '--quiet']);
    expect(badGroup.code).toBe(1);
    expect(badGroup.err).toMatch(/batchSize=4 must be a multiple of mbstdGroup=3/);
    const badVision = await runCli([...base, '--out', join(root, 'bad'), '--vision-aided', 'clip', '--quiet']);
    expect(badVision.code).toBe(1);
    expect(badVision.err).toMatch(/visionAided=clip must be one of none, age-gender/);
    const again2 = await runCli([...base.slice(0, 7), '--out', branchDir, '--branch-from', run, '--lr', '0.001', '--quiet']);
    expect(again2.err).toMatch(/already holds a training run; a branch needs a new --out/);
    const fixed = await runCli([...base, '--out', join(root, 'b2'), '--branch-from', run, '--quiet']);
    expect(fixed.code).toBe(1);
    expect(fixed.err).toMatch(/keeps the parent run's architecture, batch, seed and growth schedule; drop --res, --fmap-base, --fmap-max, --batch/);
    // Resuming on other data is refused: the sampler's positions index the run's own images.
    const fewer = join(root, 'fewer');
    mkdirSync(fewer);
    for (let i = 0; i < 5; i++) writeFileSync(join(fewer, `f${i}.png`), readFileSync(join(data, `f${i}.png`)));
    const otherData = await runCli(['train', '--data', fewer, ...base.slice(3), '--resume', '--total-images', '16', '--quiet']);
    expect(otherData.code).toBe(1);
    expect(otherData.err).toMatch(/was trained on 6 images .*this data gives 5 .*pass the run's own --data/);
    // A run whose checkpoint was lost (a new machine) keeps its log: a new run there is refused.
    const orphan = join(root, 'orphan');
    mkdirSync(orphan);
    writeFileSync(join(orphan, 'log.jsonl'), readFileSync(join(run, 'log.jsonl')));
    const onOrphan = await runCli([...base.slice(0, 7), '--out', orphan, ...base.slice(9), '--total-images', '4', '--resume', '--quiet']);
    expect(onOrphan.code).toBe(1);
    expect(onOrphan.err).toMatch(/has a log.jsonl from an earlier run but no checkpoint to resume it; move the log aside/);
    expect(readFileSync(join(orphan, 'log.jsonl'), 'utf8')).toBe(readFileSync(join(run, 'log.jsonl'), 'utf8'));
    const bad = await runCli([...base, '--out', join(root, 'bad'), '--augment', 'color,flip', '--total-images', '4', '--quiet']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/"flip" is not one of color, translation, cutout/);
    const badLr = await runCli([...base, '--out', join(root, 'bad'), '--lr', '0', '--quiet']);
    expect(badLr.code).toBe(1);
    expect(badLr.err).toMatch(/--lr "0" must be a number > 0/);
  });
});
