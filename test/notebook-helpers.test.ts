/**
 * The notebooks' helper modules (src/notebook/ablation.ts, solutions.ts, reproduce.ts,
 * sources.ts, faces.ts) without Jupyter: the ablation configs on the real experiment runner with
 * a tiny random model (the shared baseline runs once, a second pass runs nothing), the resampled
 * starting points on runPulse, the distances, the reproduction plan and the figures' static
 * rendering.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseExperimentConfig } from '../src/experiments/config.js';
import { expandGrid, listImages } from '../src/experiments/grid.js';
import { type ResultLine, readAllResults } from '../src/experiments/results.js';
import { planExperiment, runExperiment } from '../src/experiments/runner.js';
import { type BenchManifest, makeBenchData, readBenchManifest } from '../src/benchmark/bench-data.js';
import type { BenchResultLine } from '../src/benchmark/result-line.js';
import type { BenchmarkSummary } from '../src/benchmark/summary.js';
import type { Interval } from '../src/util/student-t.js';
import { type RgbImage, readImage, writePng } from '../src/io/image.js';
import { loadModel } from '../src/model/model.js';
import { sampleFaces } from '../src/model/sample.js';
import { drawInit } from '../src/pulse/search-init.js';
import { resolveOptions } from '../src/pulse/options.js';
import { runPulse } from '../src/pulse/run.js';
import { renderPlotSvg } from '../src/plot/plot-svg.js';
import {
  type AblationAxis,
  ablationBarsFigure,
  ablationConfigs,
  ablationTable,
  finalL2BoxFigure,
  l2CurvesFigure,
  linesByRow,
  medianCurve,
  paperAxes,
  summarizeAblation,
  valueLabel,
} from '../src/notebook/ablation.js';
import {
  descriptorGap,
  designSeeds,
  distanceFigure,
  imageDistance,
  matrixRows,
  pairwiseMatrix,
  resampledInit,
  spreadImage,
  stats,
  upperTriangle,
} from '../src/notebook/solutions.js';
import { PAPER, benchDataMatches, benchmarkFigure, galleryPaths, paperComparisonRows, reproductionPlan, withoutFigures } from '../src/notebook/reproduce.js';
import { faceMode, ffhqModelPath, lfwDir, looksLikeModel, modelTag, niqeParamsPath, notebookOutDir, reproFaces } from '../src/notebook/sources.js';
import { downscaleFace, experimentFace, writeGeneratedFaces } from '../src/notebook/faces.js';
import { useTestBackend } from './helpers/backend.js';
import { writeTinyTorchModel } from './helpers/tiny-model.js';

function flat(width: number, height: number, value: number): RgbImage {
  return { width, height, data: new Float32Array(width * height * 3).fill(value) };
}

function ramp(width: number, height: number, offset = 0): RgbImage {
  const data = new Float32Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7 + offset) % 256) / 255;
  return { width, height, data };
}

// ---------------------------------------------------------------------------------------------

describe('ablation configs', () => {
  it('paperAxes lists the paper knobs with the official defaults as baselines', () => {
    const axes = paperAxes(100);
    expect(axes.map((a) => a.field)).toEqual(['loss', 'noiseType', 'tileLatent', 'lrSchedule', 'optimizer', 'steps']);
    const baseline = Object.fromEntries(axes.map((a) => [a.field, a.baseline]));
    expect(baseline).toEqual({ loss: '100*L2+0.05*GEOCROSS', noiseType: 'trainable', tileLatent: false, lrSchedule: 'linear1cycledrop', optimizer: 'adam', steps: 100 });
    expect(axes[0].values).toEqual(['100*L2+0*GEOCROSS', '100*L2+0.05*GEOCROSS', '100*L2+0.5*GEOCROSS']);
    expect(axes[5].values).toEqual([50, 100, 200]);
    expect(valueLabel(axes[0], '100*L2+0.5*GEOCROSS')).toBe('0.5');
    expect(valueLabel(axes[2], true)).toBe('true');
    expect(() => paperAxes(1)).toThrow(/steps=1/);
  });

  it('makes one valid config per axis, every knob explicit, the baseline run shared', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nb-ablation-'));
    const face = join(dir, 'face.png');
    await writePng(face, ramp(32, 32));
    const axes = paperAxes(20);
    const made = ablationConfigs({ name: 'abl', model: '/nowhere/model', inputs: { files: [face], factor: 4 }, seeds: [1, 2], base: { eps: 1e-3 }, axes, out: join(dir, 'out') });
    expect(made.map((m) => m.raw.name)).toEqual(axes.map((a) => `abl.${a.key}`));
    const configs = made.map(({ raw }) => parseExperimentConfig(raw, { baseDir: dir }));
    for (const [i, c] of configs.entries()) {
      expect(c.gridKeys).toEqual([axes[i].field]);
      expect(Object.keys(c.base).sort()).toEqual(['eps', ...axes.filter((_, j) => j !== i).map((a) => a.field)].sort());
      expect(c.out).toBe(join(dir, 'out'));
    }
    const runs = await Promise.all(configs.map(async (c) => expandGrid(c, await listImages(c))));
    const baselineIds = runs.map((rs, i) => new Set(rs.filter((r) => JSON.stringify(r.point[axes[i].field]) === JSON.stringify(axes[i].baseline)).map((r) => r.id)));
    for (const ids of baselineIds) expect([...ids].sort()).toEqual([...baselineIds[0]].sort());
    expect(baselineIds[0].size).toBe(2); // one face x two seeds
    const distinct = new Set(runs.flat().map((r) => r.id));
    const values = axes.reduce((s, a) => s + a.values.length - 1, 1);
    expect(distinct.size).toBe(values * 2);
  });

  it('rejects axes that clash', () => {
    const base = { name: 'x', model: null, inputs: { files: ['a.png'], factor: 4 }, seeds: [1], out: '/scratch/x' };
    const a: AblationAxis = { key: 'a', knob: 'A', field: 'steps', values: [1, 2], baseline: 1 };
    expect(() => ablationConfigs({ ...base, axes: [a, { ...a, key: 'b' }] })).toThrow(/two axes/);
    expect(() => ablationConfigs({ ...base, axes: [{ ...a, baseline: 3 }] })).toThrow(/baseline 3/);
    expect(() => ablationConfigs({ ...base, axes: [a], base: { steps: 4 } })).toThrow(/both in base/);
    expect(() => ablationConfigs({ ...base, axes: [{ ...a, key: 'a b' }] })).toThrow(/folder-safe/);
    expect(() => ablationConfigs({ ...base, axes: [] })).toThrow(/at least one axis/);
  });

  it('runs on the experiment runner: the baseline once, a second pass nothing; then rows and figures', async () => {
    await useTestBackend();
    const modelDir = await writeTinyTorchModel();
    const dir = mkdtempSync(join(tmpdir(), 'nb-ablation-run-'));
    const face = join(dir, 'face.png');
    const model = await loadModel(modelDir);
    const hr = await sampleFaces(model, [3]);
    await writePng(face, { width: 32, height: 32, data: hr });
    model.dispose();
    const axes = paperAxes(2).filter((a) => a.key === 'geocross' || a.key === 'tile');
    const configs = ablationConfigs({ name: 't', model: modelDir, inputs: { files: [face], factor: 4 }, seeds: [1], base: { eps: 1e-3, steps: 2 }, axes, out: join(dir, 'out'), saveImages: true }).map(
      ({ axis, raw }) => ({ axis, config: parseExperimentConfig(raw, { baseDir: dir }) }),
    );
    const first = [];
    for (const { config } of configs) first.push(await runExperiment(config, { quiet: true, log: () => {} }));
    expect(first.map((r) => [r.ran, r.skipped])).toEqual([
      [3, 0],
      [1, 1],
    ]);
    const second = [];
    for (const { config } of configs) second.push(await runExperiment(config, { quiet: true, log: () => {} }));
    expect(second.map((r) => r.ran)).toEqual([0, 0]);

    const { results } = readAllResults(join(dir, 'out'));
    expect(results.size).toBe(4);
    const runsByAxis = new Map<string, ReturnType<typeof expandGrid>>();
    for (const { axis, config } of configs) runsByAxis.set(axis.key, await planExperiment(config));
    const rows = summarizeAblation(axes, runsByAxis, results);
    expect(rows.map((r) => r.config)).toEqual(['GEOCROSS weight = 0', 'GEOCROSS weight = 0.05', 'GEOCROSS weight = 0.5', 'tile_latent = false', 'tile_latent = true']);
    expect(rows.filter((r) => r.baseline).map((r) => r.axis)).toEqual(['geocross', 'tile']);
    const [b1, b2] = rows.filter((r) => r.baseline);
    expect(b1.summary.meanFinalL2).toBe(b2.summary.meanFinalL2); // the same shared run
    for (const r of rows) expect(r.summary.finished).toBe(1);
    const table = ablationTable(rows);
    expect(table[1].value).toBe('0.05 (baseline)');
    expect(table[0].runs).toBe('1/1');

    const lines = linesByRow(rows, runsByAxis, results);
    expect(lines.map((l) => l.length)).toEqual([1, 1, 1, 1, 1]);
    expect(lines[0][0].solutions?.[0].image).toMatch(/^images\//);
    expect(medianCurve(lines[0])).toHaveLength(2);
    for (const fig of [ablationBarsFigure(rows, 1e-3), finalL2BoxFigure(rows, lines, 1e-3), l2CurvesFigure(axes, rows, lines, 1e-3)]) {
      const svg = await renderPlotSvg(fig);
      expect(svg.ok).toBe(true);
    }
  });

  it('medianCurve takes the median per step over every solution', () => {
    const line = (mse: number[][]) => ({ trace: { lr: [], TOTAL: [], mse } }) as unknown as ResultLine;
    expect(medianCurve([line([[1, 2, 3]]), line([[3, 4], [5, 6]])])).toEqual([3, 4, 3]);
    expect(medianCurve([])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('multiple solutions', () => {
  const spec = { numLayers: 8, dlatentSize: 16, tileLatent: false, noiseType: 'trainable' as const, badNoiseLayers: [7] };

  it('resampledInit draws latent and noise from separate seeds', () => {
    const same = resampledInit({ ...spec, latentSeeds: [1, 2], noiseSeeds: [1, 2] });
    expect(same).toEqual(drawInit({ ...spec, seeds: [1, 2] }));
    const noise = resampledInit({ ...spec, ...designSeeds('noise', 5, 3) });
    const per = 8 * 16;
    expect(noise.latent.subarray(per, 2 * per)).toEqual(noise.latent.subarray(0, per));
    expect(noise.noise[0]!.subarray(16, 32)).not.toEqual(noise.noise[0]!.subarray(0, 16));
    const latent = resampledInit({ ...spec, ...designSeeds('latent', 5, 3) });
    expect(latent.latent.subarray(per, 2 * per)).not.toEqual(latent.latent.subarray(0, per));
    expect(latent.noise[0]!.subarray(16, 32)).toEqual(latent.noise[0]!.subarray(0, 16));
    expect(latent.noise[7]).toBeNull();
    expect(() => resampledInit({ ...spec, latentSeeds: [1], noiseSeeds: [1, 2] })).toThrow(/noise seeds/);
  });

  it('designSeeds', () => {
    expect(designSeeds('both', 3, 3)).toEqual({ latentSeeds: [3, 4, 5], noiseSeeds: [3, 4, 5] });
    expect(designSeeds('latent', 3, 2)).toEqual({ latentSeeds: [3, 4], noiseSeeds: [3, 3] });
    expect(designSeeds('noise', 3, 2)).toEqual({ latentSeeds: [3, 3], noiseSeeds: [3, 4] });
    expect(() => designSeeds('other' as never, 1, 2)).toThrow(/unknown design/);
    expect(() => designSeeds('both', 1, 0)).toThrow(/positive/);
  });

  it('runPulse with the default design as its init hook equals runPulse without one', async () => {
    await useTestBackend();
    const model = await loadModel(await writeTinyTorchModel());
    const target = tf.tidy(() => tf.fill([1, 8, 8, 3], 0.5) as tf.Tensor4D);
    const options = resolveOptions({ seed: 2, steps: 2, duplicates: 2 });
    const init = resampledInit({
      ...designSeeds('both', 2, 2),
      numLayers: model.synthesis.numLayers,
      dlatentSize: model.synthesis.config.dlatentSize,
      tileLatent: false,
      noiseType: 'trainable',
      badNoiseLayers: options.badNoiseLayers,
    });
    const a = await runPulse(model, target, options);
    const b = await runPulse(model, target, options, { init });
    expect(b.images).toEqual(a.images);
    target.dispose();
    model.dispose();
  });

  it('distances and matrices', () => {
    const a = flat(4, 4, 0);
    const b = flat(4, 4, 1);
    expect(imageDistance(a, a)).toBe(0);
    expect(imageDistance(a, b)).toBeCloseTo(1, 6);
    expect(() => imageDistance(a, flat(2, 2, 0))).toThrow(/4x4 and 2x2/);
    expect(descriptorGap(Float32Array.of(0, 3), Float32Array.of(4, 0))).toBeCloseTo(5, 6);
    expect(descriptorGap(null, Float32Array.of(1))).toBeNull();
    const m = pairwiseMatrix([0, 1, 3], (x, y) => (x === 3 || y === 3 ? null : Math.abs(x - y)));
    expect(m).toEqual([
      [0, 1, null],
      [1, 0, null],
      [null, null, 0],
    ]);
    expect(upperTriangle(m)).toEqual([1]);
    expect(matrixRows(['p', 'q', 'r'], m, 'x')[0]).toEqual({ x: 'p', p: '—', q: 1, r: 'no face' });
    expect(stats([1, 2, 6])).toEqual({ n: 3, mean: 3, min: 1, max: 6 });
    expect(stats([])).toEqual({ n: 0, mean: null, min: null, max: null });
  });

  it('spreadImage: the per-pixel standard deviation', () => {
    const { image, max } = spreadImage([flat(2, 2, 0), flat(2, 2, 1)]);
    expect(max).toBeCloseTo(0.5, 6);
    expect(Array.from(image.data)).toEqual(new Array(12).fill(1));
    const half = spreadImage([flat(2, 2, 0), flat(2, 2, 1)], 1);
    expect(half.image.data[0]).toBeCloseTo(0.5, 6);
    expect(spreadImage([flat(2, 2, 0.3), flat(2, 2, 0.3)]).image.data.every((v) => v === 0)).toBe(true);
    expect(() => spreadImage([flat(2, 2, 0), flat(3, 3, 0)])).toThrow(/3x3/);
  });

  it('distanceFigure renders statically, also without any descriptor', async () => {
    const groups = [
      { label: 'both', pixelPairs: [0.1, 0.12], descriptorPairs: [0.7], pixelToTrue: [0.1, 0.11], descriptorToTrue: [0.8] },
      { label: 'noise', pixelPairs: [0.03], descriptorPairs: [], pixelToTrue: [0.1], descriptorToTrue: [] },
    ];
    expect((await renderPlotSvg(distanceFigure(groups))).ok).toBe(true);
    const empty = distanceFigure(groups.map((g) => ({ ...g, descriptorPairs: [], descriptorToTrue: [] })));
    expect(JSON.stringify(empty.layout)).toMatch(/no face/);
    expect((await renderPlotSvg(empty)).ok).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------

function interval(mean: number | null, low: number | null = null, high: number | null = null, n = 2): Interval {
  return { n, mean, sd: null, low, high };
}

function fakeSummary(): BenchmarkSummary {
  const metrics = (niqe: number) => ({
    niqe: interval(niqe, niqe - 1, niqe + 1),
    psnr: interval(20),
    ssim: interval(0.5),
    lrMse: interval(5e-4, 0, 1e-3),
    success: interval(1, 1, 1),
    srFaceFound: interval(0),
    identityDistance: interval(null),
    samePerson: interval(0),
    seconds: interval(0.01, 0, 0.02),
    psnrY: interval(21),
    ssimY: interval(0.5),
  });
  const method = (name: 'hr' | 'bicubic' | 'pulse', niqe: number) => ({ method: name, description: '', faces: 2, outputs: 2, runs: 2, failed: 0, missing: 0, metrics: metrics(niqe), noFace: 0 });
  return {
    config: { factor: 8, size: 64, lowResolution: 8, eps: 1e-3 },
    faces: 2,
    methods: [method('hr', 10), method('bicubic', 20), method('pulse', 15)],
  } as unknown as BenchmarkSummary;
}

describe('reproduction', () => {
  it('reproductionPlan keeps 16x16 where the side allows 8x, else 8x; only 1024 px FFHQ is the paper', () => {
    expect(reproductionPlan(1024, true)).toMatchObject({ lowResolution: 16, factor: 64, paperSetting: true });
    expect(reproductionPlan(1024, false)).toMatchObject({ factor: 64, paperSetting: false });
    expect(reproductionPlan(64, false)).toMatchObject({ lowResolution: 8, factor: 8, paperSetting: false });
    expect(reproductionPlan(128, false)).toMatchObject({ lowResolution: 16, factor: 8 });
    expect(reproductionPlan(256, false)).toMatchObject({ lowResolution: 16, factor: 16 });
    expect(reproductionPlan(32, false)).toMatchObject({ lowResolution: 4, factor: 8 });
    expect(reproductionPlan(64, false).description).toMatch(/^8x8 -> 64x64 \(8x\) on this project's model, not the paper's 16x16 -> 1024x1024 \(64x\)/);
    expect(reproductionPlan(1024, true).description).toMatch(/^the paper's setting/);
    expect(() => reproductionPlan(100, false)).toThrow(/power of two/);
    expect(PAPER.niqe.pulse).toBe(2.47);
  });

  it('benchDataMatches', () => {
    const manifest = { size: 64, factors: [8], faces: [{}, {}], source: { dir: '/d' }, crop: { name: 'lfw' } } as unknown as BenchManifest;
    const want = { size: 64, factor: 8, count: 2, sourceDir: '/d', crop: 'lfw' };
    expect(benchDataMatches(manifest, want)).toBe(true);
    expect(benchDataMatches(manifest, { ...want, count: 3 })).toBe(false);
    expect(benchDataMatches(manifest, { ...want, factor: 4 })).toBe(false);
    expect(benchDataMatches(manifest, { ...want, crop: 'center' })).toBe(false);
  });

  it('benchDataMatches accepts the bench data makeBenchData wrote for the same request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nb-bench-'));
    const faces = join(dir, 'faces');
    mkdirSync(faces);
    await writePng(join(faces, 'a.png'), ramp(20, 20));
    await writePng(join(faces, 'b.png'), ramp(20, 20, 9));
    const manifest = await makeBenchData({ source: faces, size: 16, factors: [4], out: join(dir, 'data'), crop: 'center', split: 'all', count: 2 });
    const want = { size: 16, factor: 4, count: 2, sourceDir: faces, crop: 'center' };
    expect(benchDataMatches(readBenchManifest(join(dir, 'data')), want)).toBe(true);
    expect(benchDataMatches(manifest, { ...want, size: 32 })).toBe(false);
  });

  it('tables and figures from a summary', async () => {
    const s = fakeSummary();
    const rows = paperComparisonRows(s, reproductionPlan(64, false));
    expect(rows.map((r) => r['NIQE, paper (64x, 1024 px)'])).toEqual([3.9, 7.06, 2.47]);
    expect(rows[0].comparable).toBe("no: not the paper's setting");
    expect(rows[0]['95% interval']).toBe('9.00 to 11.00');
    expect(paperComparisonRows(s, reproductionPlan(1024, true))[2].comparable).toBe('yes');
    const fig = benchmarkFigure(s, { paperNiqe: true });
    expect(fig.data.some((t) => t.name === 'paper (64x, 1024 px)')).toBe(true);
    const lrBars = fig.data.find((t) => t.name === 'LR MSE ↓ (log)') as { error_y: { arrayminus: number[] } };
    expect(lrBars.error_y.arrayminus).toEqual([0, 0, 0]); // the interval reaches 0: no lower end on a log axis
    expect((await renderPlotSvg(fig)).ok).toBe(true);
  });

  it('withoutFigures and galleryPaths', () => {
    const md = '# T\n\ntable\n\n## Figures\n\n![a](figures/a.svg)\n\n## Errors\n\n- x\n';
    expect(withoutFigures(md)).toBe('# T\n\ntable\n\n## Errors\n\n- x\n');
    expect(withoutFigures('# T\n\n## Figures\n\n![a](a.svg)\n')).toBe('# T\n');
    const line = (image: string, method: string, file: string, status = 'ok') => ({ image, method, status, outputs: [{ image: file }] }) as unknown as BenchResultLine;
    const lines = [line('f1', 'pulse', 'images/pulse/f1_s1.png'), line('f1', 'hr', 'images/hr/f1.png'), line('f2', 'pulse', 'x.png', 'error')];
    expect(galleryPaths(lines, ['f1', 'f2'], ['hr', 'bicubic', 'pulse'])).toEqual([
      { face: 'f1', images: [{ method: 'hr', image: 'images/hr/f1.png' }, { method: 'pulse', image: 'images/pulse/f1_s1.png' }] },
      { face: 'f2', images: [] },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('sources', () => {
  it('find datasets, models and NIQE params from the environment or their defaults', () => {
    const root = mkdtempSync(join(tmpdir(), 'nb-root-'));
    const repo = join(root, 'repo');
    mkdirSync(repo);
    expect(lfwDir({}, repo)).toBeNull();
    expect(ffhqModelPath({}, repo)).toBeNull();
    expect(reproFaces({}, repo)).toBeNull();
    expect(niqeParamsPath({}, repo)).toBeNull();

    const lfw = join(root, 'shared', 'datasets', 'lfw');
    mkdirSync(lfw, { recursive: true });
    writeFileSync(join(lfw, 'manifest.csv'), 'file,identity,split\n');
    expect(lfwDir({}, repo)).toBe(lfw);
    expect(reproFaces({}, repo)).toMatchObject({ dir: lfw, crop: 'lfw', split: 'dev' });
    expect(() => lfwDir({ PULSE_NOTEBOOK_LFW: repo }, repo)).toThrow(/PULSE_NOTEBOOK_LFW=.*not an LFW-style folder/);
    // PULSE_NOTEBOOK_FACES=generated hides the dataset (the notebooks then draw faces); lfw requires it.
    expect(faceMode({})).toBe('auto');
    expect(faceMode({ PULSE_NOTEBOOK_FACES: ' Generated ' })).toBe('generated');
    expect(() => faceMode({ PULSE_NOTEBOOK_FACES: 'celeba' })).toThrow(/PULSE_NOTEBOOK_FACES="celeba".*lfw, generated/);
    expect(lfwDir({ PULSE_NOTEBOOK_FACES: 'generated' }, repo)).toBeNull();
    expect(reproFaces({ PULSE_NOTEBOOK_FACES: 'generated' }, repo)).toBeNull();
    expect(lfwDir({ PULSE_NOTEBOOK_FACES: 'lfw' }, repo)).toBe(lfw);
    expect(() => lfwDir({ PULSE_NOTEBOOK_FACES: 'lfw' }, join(root, 'a', 'b'))).toThrow(/PULSE_NOTEBOOK_FACES=lfw but no LFW-style dataset/);

    const ffhq = join(repo, 'models', 'ffhq');
    mkdirSync(ffhq, { recursive: true });
    expect(ffhqModelPath({}, repo)).toBeNull();
    writeFileSync(join(ffhq, 'synthesis.pt'), '');
    expect(ffhqModelPath({}, repo)).toBe(ffhq);
    expect(looksLikeModel(join(ffhq, 'synthesis.pt'))).toBe(true);
    expect(() => ffhqModelPath({ PULSE_FFHQ_MODEL: join(root, 'missing') }, repo)).toThrow(/PULSE_FFHQ_MODEL/);

    expect(reproFaces({ PULSE_REPRO_FACES: repo }, repo)).toMatchObject({ dir: repo, crop: 'center', split: 'all' });
    expect(() => reproFaces({ PULSE_REPRO_FACES: join(root, 'nope') }, repo)).toThrow(/PULSE_REPRO_FACES/);

    const metrics = join(root, 'shared', 'metrics');
    mkdirSync(metrics, { recursive: true });
    writeFileSync(join(metrics, 'niqe_pris_params.json'), '{}');
    expect(niqeParamsPath({}, repo)).toBe(join(metrics, 'niqe_pris_params.json'));
    expect(() => niqeParamsPath({ PULSE_NIQE_PARAMS: join(root, 'x.npz') }, repo)).toThrow(/PULSE_NIQE_PARAMS/);
  });

  it('notebookOutDir: a fresh temp folder in quick mode, a stable one per model otherwise', () => {
    const repo = mkdtempSync(join(tmpdir(), 'nb-out-'));
    const a = notebookOutDir('03-ablations', '/m/default', true, repo);
    const b = notebookOutDir('03-ablations', '/m/default', true, repo);
    expect(a).not.toBe(b);
    expect(a.startsWith(tmpdir())).toBe(true);
    const full = notebookOutDir('03-ablations', '/m/default', false, repo);
    expect(full).toBe(join(repo, 'runs', 'notebooks', '03-ablations', modelTag('/m/default')));
    expect(notebookOutDir('03-ablations', '/m/default', false, repo)).toBe(full);
    expect(modelTag('/m/default')).toMatch(/^default-[0-9a-f]{8}$/);
    expect(modelTag('/x/synthesis.pt')).toMatch(/^synthesis-[0-9a-f]{8}$/);
    expect(modelTag('/a/default')).not.toBe(modelTag('/m/default'));
    expect(() => notebookOutDir('../x', '/m', true, repo)).toThrow(/folder-safe/);
  });
});

describe('faces', () => {
  beforeAll(async () => {
    await useTestBackend();
  });

  it('downscaleFace and experimentFace give the HR and its BicubicDownsampler LR', async () => {
    const hr = ramp(16, 16);
    const face = await downscaleFace(hr, 4, 'ramp');
    expect(face.lowRes.width).toBe(4);
    expect(face.target.shape).toEqual([1, 4, 4, 3]);
    expect(Array.from(face.lowRes.data)).toEqual(Array.from(face.target.dataSync()));
    face.target.dispose();
    const dir = mkdtempSync(join(tmpdir(), 'nb-face-'));
    const file = join(dir, 'f.png');
    await writePng(file, hr);
    const fromFile = await experimentFace({ id: 'f.png', path: file, source: 'file' }, 16, 4);
    expect(fromFile.lowResolution).toBe(4);
    fromFile.target.dispose();
    await expect(experimentFace({ id: 'f.png', path: file, source: 'file' }, 32, 4)).rejects.toThrow(/16x16/);
    await expect(downscaleFace(ramp(8, 4), 2, 'oblong')).rejects.toThrow(/square/);
  });

  it('writeGeneratedFaces writes one PNG per seed at the model side and keeps existing files', async () => {
    const model = await loadModel(await writeTinyTorchModel());
    const dir = join(mkdtempSync(join(tmpdir(), 'nb-gen-')), 'faces');
    const files = await writeGeneratedFaces(model, dir, 2, 5);
    expect(files.map((f) => f.split('/').pop())).toEqual(['generated-5.png', 'generated-6.png']);
    const { image } = await readImage(files[1]);
    expect([image.width, image.height]).toEqual([32, 32]);
    writeFileSync(files[0], 'kept');
    const again = await writeGeneratedFaces(model, dir, 3, 5);
    expect(again).toHaveLength(3);
    expect(readFileSync(files[0], 'utf8')).toBe('kept');
    // The third is the face of seed 7 alone, as sampleFaces gives it (PNG bytes floor x * 255).
    const third = (await readImage(again[2])).image;
    const direct = await sampleFaces(model, [7]);
    expect(Math.max(...third.data.map((v, i) => Math.abs(v - Math.min(1, Math.max(0, direct[i])))))).toBeLessThanOrEqual(1 / 255 + 1e-6);
    await expect(writeGeneratedFaces(model, dir, 0)).rejects.toThrow(/count 0/);
    model.dispose();
  });
});
