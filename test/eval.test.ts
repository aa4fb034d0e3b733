/**
 * Evaluation: the Frechet distance's linear algebra against hand-computed cases; the face
 * analyser on real LFW faces (read from ../shared, never copied); the three measurements end
 * to end on a tiny random generator with tiny counts; the CLI command on the same.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { frechetDistance, frechetFromStats, gaussianStats, sqrtPsd, symmetricEigen, traceSqrtProduct } from '../src/eval/frechet.js';
import { FACE_PROTOCOL, analyzeFaces, describeFaces, descriptorDistance, detectFaces, prepareFaceCanvas } from '../src/eval/face-analysis.js';
import {
  analyzeSamples,
  evaluateModel,
  generateSamples,
  measureDetectionRate,
  measureIdentityFrechet,
  measurePulse,
  splitByIdentity,
} from '../src/eval/evaluate-model.js';
import { median } from '../src/util/stats.js';
import { registerEvalModel } from '../src/cli/eval-model.js';
import { portablePath } from '../src/util/repo-root.js';
import { appendHistory, historyEntry, readHistory, renderHistoryTable } from '../src/eval/history.js';
import { compareDiversity, meanPairwiseDistance } from '../src/eval/diversity.js';
import { conventionOf } from '../src/eval/evaluate-model.js';
import { renderModelCard } from '../src/eval/model-card.js';
import { cropAndResize, LFW_CROP } from '../src/data/crop.js';
import { type LoadedModel, loadModel } from '../src/model/model.js';
import { gaussian } from '../src/util/random.js';
import { readImage } from '../src/io/image.js';
import { defaultModelPath } from '../src/model/default-model.js';
import { useTestBackend } from './helpers/backend.js';
import { FIXTURE_FACES, HAVE_LFW, LFW_DIR, LFW_IMAGES, needsShared } from './helpers/paths.js';
import { writeTinyTorchModel } from './helpers/tiny-model.js';

const LFW = LFW_DIR;
const NEEDS_LFW = needsShared('datasets/lfw');

beforeAll(async () => {
  await useTestBackend();
});

function close(a: number, b: number, tol = 1e-10): void {
  expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));
}

describe('Frechet distance', () => {
  it('symmetricEigen: a 2x2 case by hand, and a 128x128 random matrix reconstructed', () => {
    const e = symmetricEigen([2, 1, 1, 2], 2);
    close(e.values[0], 1);
    close(e.values[1], 3);
    // eigenvector of 3 is (1,1)/sqrt2 up to sign
    close(Math.abs(e.vectors[0 * 2 + 1]), Math.SQRT1_2);
    close(Math.abs(e.vectors[1 * 2 + 1]), Math.SQRT1_2);

    const n = 128;
    const g = gaussian('eig', n * n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = g[i * n + j] + g[j * n + i];
    const { values, vectors } = symmetricEigen(a, n);
    let recon = 0;
    let ortho = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        let o = 0;
        for (let k = 0; k < n; k++) {
          s += vectors[i * n + k] * values[k] * vectors[j * n + k];
          o += vectors[k * n + i] * vectors[k * n + j];
        }
        recon = Math.max(recon, Math.abs(s - a[i * n + j]));
        ortho = Math.max(ortho, Math.abs(o - (i === j ? 1 : 0)));
      }
    }
    expect(recon).toBeLessThan(1e-10);
    expect(ortho).toBeLessThan(1e-12);
    for (let k = 1; k < n; k++) expect(values[k]).toBeGreaterThanOrEqual(values[k - 1]);
    let trace = 0;
    for (let i = 0; i < n; i++) trace += a[i * n + i];
    close(values.reduce((s, v) => s + v, 0), trace, 1e-10);
  });

  it('sqrtPsd squares back; negative rounding eigenvalues are clamped', () => {
    const m = [4, 2, 0, 2, 3, 1, 0, 1, 2];
    const r = sqrtPsd(m, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += r[i * 3 + k] * r[k * 3 + j];
        close(s, m[i * 3 + j], 1e-12);
      }
    }
    const singular = sqrtPsd([1, 1, 1, 1], 2); // eigenvalues 0 and 2
    for (const v of singular) close(v, Math.SQRT1_2, 1e-12);
  });

  it('1-D: (m1-m2)^2 + (s1-s2)^2 with unbiased variances', () => {
    // x: mean 2, var 1; y: mean 5, var 20/3
    const r = frechetDistance([[1], [2], [3]], [[2], [4], [6], [8]]);
    close(r.distance, 9 + 1 + 20 / 3 - 2 * Math.sqrt(20 / 3));
    close(r.meanTerm, 9);
    expect(r.counts).toEqual([3, 4]);
  });

  it('2x2 non-commuting covariances: Tr sqrt(S1 S2) = sqrt(tr(S1 S2) + 2 sqrt(det S1 det S2))', () => {
    // S1 = [[2,1],[1,2]], S2 = [[1,0],[0,3]]: tr(S1 S2) = 8, det S1 = det S2 = 3 -> sqrt(14)
    close(traceSqrtProduct([2, 1, 1, 2], [1, 0, 0, 3], 2), Math.sqrt(14), 1e-12);
    close(traceSqrtProduct([1, 0, 0, 3], [2, 1, 1, 2], 2), Math.sqrt(14), 1e-12);
    const r = frechetFromStats(
      { dim: 2, count: 10, mean: Float64Array.from([1, 0]), cov: Float64Array.from([2, 1, 1, 2]) },
      { dim: 2, count: 10, mean: Float64Array.from([0, 2]), cov: Float64Array.from([1, 0, 0, 3]) },
    );
    close(r.distance, 5 + (4 + 4) - 2 * Math.sqrt(14), 1e-12);
  });

  it('diagonal covariances: sum (sqrt(a_i) - sqrt(b_i))^2', () => {
    const a = [1, 4, 9, 0.25];
    const b = [4, 4, 1, 1];
    const diag = (d: number[]) => {
      const m = new Float64Array(16);
      d.forEach((v, i) => (m[i * 4 + i] = v));
      return m;
    };
    const z = new Float64Array(4);
    const r = frechetFromStats({ dim: 4, count: 5, mean: z, cov: diag(a) }, { dim: 4, count: 5, mean: z, cov: diag(b) });
    close(r.distance, a.reduce((s, v, i) => s + (Math.sqrt(v) - Math.sqrt(b[i])) ** 2, 0), 1e-12);
  });

  it('d(X, X) = 0, symmetry, and mean shifts, on 128-d sets', () => {
    const x = Array.from({ length: 200 }, (_, i) => gaussian(`x${i}`, 128));
    const y = Array.from({ length: 150 }, (_, i) => gaussian(`y${i}`, 128).map((v, k) => v * (1 + (k % 3)) + 0.1));
    const self = frechetDistance(x, x);
    expect(Math.abs(self.distance)).toBeLessThan(1e-8);
    close(frechetDistance(x, y).distance, frechetDistance(y, x).distance, 1e-9);
    const shifted = x.map((v) => v.map((e, k) => e + (k === 3 ? 2 : 0)));
    close(frechetDistance(x, shifted).distance, 4, 1e-8);
    // fewer vectors than dimensions: singular covariances still work
    const few = frechetDistance(x.slice(0, 10), x.slice(0, 10));
    expect(Math.abs(few.distance)).toBeLessThan(1e-8);
  });

  it('gaussianStats: unbiased covariance, input checks', () => {
    const s = gaussianStats([
      [1, 2],
      [3, 6],
    ]);
    expect(Array.from(s.mean)).toEqual([2, 4]);
    expect(Array.from(s.cov)).toEqual([2, 4, 4, 8]);
    expect(() => gaussianStats([[1, 2]])).toThrow(/at least 2/);
    expect(() => gaussianStats([[1, 2], [3]])).toThrow(/vector 1 has 1/);
  });
});

describe.skipIf(!HAVE_LFW)(`face analysis (face-api, on real LFW faces) ${NEEDS_LFW}`, () => {
  // a same-person pair from pairs.csv and a different-person pair sharing its first image
  const pairs = (HAVE_LFW ? readFileSync(join(LFW, 'pairs.csv'), 'utf8') : 'header\nx_0001,x_0002,1\ny_0001,z_0001,0').trim().split('\n').slice(1).map((l) => l.split(','));
  const [a, b] = pairs.find((p) => p[2] === '1')!;
  const other = pairs.find((p) => p[2] === '0' && !p[0].startsWith(a.split('_0')[0]))![0];
  let faces: { name: string; image: Awaited<ReturnType<typeof cropAndResize>> }[];

  beforeAll(async () => {
    faces = await Promise.all([a, b, other].map(async (name) => ({ name, image: await cropAndResize(join(LFW_IMAGES, name), LFW_CROP, 64) })));
  });

  it('the canvas is the face upscaled to 160 px in a grey border', async () => {
    const { canvas, offset } = await prepareFaceCanvas(faces[0].image);
    expect(offset).toBe(FACE_PROTOCOL.upscaleTo * FACE_PROTOCOL.marginFraction);
    expect(canvas.width).toBe(FACE_PROTOCOL.upscaleTo + 2 * offset);
    expect(canvas.data[0]).toBe(FACE_PROTOCOL.padValue);
  });

  it('finds the faces, and same-person descriptors are closer than different-person ones', async () => {
    const images = faces.map((f) => f.image);
    const det = await detectFaces(images);
    for (const d of det) {
      expect(d.found).toBe(true);
      expect(d.score).toBeGreaterThanOrEqual(FACE_PROTOCOL.minConfidence);
      // the box lies roughly on the 64 px face
      expect(d.box!.x).toBeGreaterThan(-16);
      expect(d.box!.x + d.box!.width).toBeLessThan(80);
      expect(d.box!.width).toBeGreaterThan(24);
    }
    const t = performance.now();
    const desc = await describeFaces(images);
    const msPerImage = (performance.now() - t) / images.length;
    for (const d of desc) {
      expect(d).toBeInstanceOf(Float32Array);
      expect(d!.length).toBe(128);
      const norm = Math.hypot(...d!);
      expect(norm).toBeGreaterThan(0.5);
      expect(norm).toBeLessThan(2);
    }
    const same = descriptorDistance(desc[0]!, desc[1]!);
    const diff = descriptorDistance(desc[0]!, desc[2]!);
    console.log(`face-api: ${faces.map((f) => f.name).join(', ')}: same ${same.toFixed(3)}, different ${diff.toFixed(3)}; ${msPerImage.toFixed(0)} ms/image (detect + describe)`);
    expect(same).toBeLessThan(diff);
    expect(same).toBeLessThan(0.6);
  });

  it('a flat grey image has no face and no descriptor', async () => {
    const grey = { width: 64, height: 64, data: new Float32Array(64 * 64 * 3).fill(0.5) };
    const [r] = await analyzeFaces([grey], { descriptors: true });
    expect(r.found).toBe(false);
    expect(r.descriptor).toBeNull();
  });
});

describe('face detection on known images (no ../shared needed)', () => {
  // test/fixtures/faces/generated-S.png is sample S of models/default (scripts/fixtures/make-faces.ts),
  // the same image generateSamples(defaultModel, S - seed, 1, seed) draws, saved as 8-bit PNG.
  // Consecutive seeds (measureDetectionRate draws seed, seed + 1, ...): 7003 and 7005 score 0.60
  // and 0.61, near the detector's 0.5 threshold, so the run stops before them; 7000-7002 score
  // 0.91, 0.77, 0.78.
  const SEEDS = [7000, 7001, 7002];
  let fixtures: Awaited<ReturnType<typeof readImage>>['image'][];

  beforeAll(async () => {
    fixtures = await Promise.all(SEEDS.map(async (s) => (await readImage(join(FIXTURE_FACES, `generated-${s}.png`))).image));
  });

  it('a flat grey image has no face; each face models/default drew has one', async () => {
    const grey = { width: 64, height: 64, data: new Float32Array(64 * 64 * 3).fill(0.5) };
    const [none, ...faces] = await analyzeFaces([grey, ...fixtures], { descriptors: true });
    expect(none).toMatchObject({ found: false, descriptor: null });
    expect(none.score).toBeLessThan(FACE_PROTOCOL.minConfidence);
    console.log(`fixture faces: detector scores ${faces.map((f) => f.score.toFixed(3)).join(', ')}`);
    for (const [i, f] of faces.entries()) {
      expect(f.found, `generated-${SEEDS[i]}.png`).toBe(true);
      expect(f.descriptor).toHaveLength(128);
      // the box lies on the 64 px face, not in the grey border
      expect(f.box!.x).toBeGreaterThan(-16);
      expect(f.box!.x + f.box!.width).toBeLessThan(80);
    }
  });

  it('measureDetectionRate counts them: models/default from seed 7000 finds what the saved faces show', async () => {
    const model = await loadModel(defaultModelPath());
    try {
      const expected = await detectFaces(fixtures);
      const rate = await measureDetectionRate(model, { samples: SEEDS.length, seed: SEEDS[0], batchSize: 4 });
      console.log(`saved faces ${expected.map((d) => d.score.toFixed(3)).join(', ')}; drawn again ${rate.scores.map((x) => x.toFixed(3)).join(', ')}`);
      expect(rate.samples).toBe(SEEDS.length);
      expect(rate.detected).toBe(expected.filter((d) => d.found).length);
      expect(rate.detected).toBe(SEEDS.length);
      expect(rate.rate).toBe(1);
      expect(rate.meetsTarget).toBe(true);
      // The samples are the fixtures before their 8-bit rounding: the same scores within 0.05.
      for (let i = 0; i < SEEDS.length; i++) expect(Math.abs(rate.scores[i] - expected[i].score), `seed ${SEEDS[i]}`).toBeLessThan(0.05);
      expect(rate.medianScore).toBe(median(rate.scores));
      // One grey sample among them: a planted analysis (same seed) is counted as given.
      const [grey] = await analyzeFaces([{ width: 64, height: 64, data: new Float32Array(64 * 64 * 3).fill(0.5) }]);
      const analyses = await analyzeFaces(fixtures.slice(0, 3));
      const mixed = await measureDetectionRate(model, {
        samples: 4,
        seed: 11,
        analysis: { analyses: [analyses[0], grey, analyses[1], analyses[2]], seed: 11, generateSeconds: 1, analyzeSeconds: 1 },
      });
      expect(mixed.detected).toBe(3);
      expect(mixed.rate).toBe(0.75);
      expect(mixed.meetsTarget).toBe(false);
      expect(mixed.scores[1]).toBe(grey.score);
    } finally {
      model.dispose();
    }
  }, 120_000);
});

describe('evaluate-model on a tiny random generator', () => {
  let model: LoadedModel;

  beforeAll(async () => {
    model = await loadModel(await writeTinyTorchModel());
  });
  afterAll(() => model?.dispose());

  it('samples are deterministic, in [0, 1], and independent of the batch', async () => {
    const tensors = tf.memory().numTensors;
    const all = await generateSamples(model, 0, 3, 4);
    const last = await generateSamples(model, 2, 1, 4);
    expect(all).toHaveLength(3);
    expect(all[0].width).toBe(32);
    for (const im of all) for (const v of im.data) expect(v >= 0 && v <= 1).toBe(true);
    const maxDiff = Math.max(...all[2].data.map((v, i) => Math.abs(v - last[0].data[i])));
    expect(maxDiff).toBeLessThan(1e-4); // batch size changes float summation order on some backends
    expect(Math.max(...all[0].data.map((v, i) => Math.abs(v - all[1].data[i])))).toBeGreaterThan(1e-3);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('measureDetectionRate on random weights: no sample holds a face', async () => {
    const r = await measureDetectionRate(model, { samples: 3, seed: 1, batchSize: 2 });
    expect(r.samples).toBe(3);
    expect(r.seed).toBe(1);
    expect(r.detected).toBe(0);
    expect(r.rate).toBe(0);
    expect(r.meetsTarget).toBe(false);
    expect(r.target).toBe(0.9);
    expect(r.scores).toHaveLength(3);
    for (const score of r.scores) expect(score).toBeLessThan(r.minConfidence);
    expect(r.medianScore).toBe(median(r.scores));
    expect(r.seconds).toBeGreaterThan(0);
  });

  it.skipIf(!HAVE_LFW)(`measurePulse runs PULSE on dev faces at 8x ${NEEDS_LFW}`, async () => {
    const progress: number[] = [];
    const r = await measurePulse(model, { datasetDir: LFW, faces: 3, seed: 2, pulse: { steps: 2 }, batchSize: 2, onProgress: (d) => progress.push(d) });
    expect(r.faces).toBe(3);
    expect(r.factor).toBe(8);
    expect(r.lowResolution).toBe(4);
    expect(r.options.steps).toBe(2);
    expect(r.options.seed).toBe(2);
    expect(r.perFace).toHaveLength(3);
    for (const f of r.perFace) {
      expect(f.file).toMatch(/\.jpg$/);
      expect(Number.isFinite(f.minMse)).toBe(true);
      expect(f.minMse).toBeLessThanOrEqual(f.finalMse + 1e-12);
      expect(f.success).toBe(f.minMse <= r.options.eps);
    }
    expect(r.succeeded).toBe(r.perFace.filter((f) => f.success).length);
    expect(r.medianMinMse).toBe(median(r.perFace.map((f) => f.minMse)));
    expect(progress.at(-1)).toBe(3);
    expect(r.solutionDiversity).toBeNull(); // one solution per face
    const dup = await measurePulse(model, { datasetDir: LFW, faces: 1, seed: 2, pulse: { steps: 1, duplicates: 2 }, batchSize: 1 });
    expect(dup.perFace[0]).toHaveProperty('solutionDiversity'); // null here: random weights draw no faces
  });

  it.skipIf(!HAVE_LFW)(`measureIdentityFrechet: descriptors of samples vs dev faces, floor from identity-disjoint halves ${NEEDS_LFW}`, async () => {
    // the first 9 dev faces: AJ_Lamas, Abbas_Kiarostami, Abdullah x4, Adam_Scott x2, Alek_Wek
    const r = await measureIdentityFrechet(model, { samples: 2, realFaces: 9, datasetDir: LFW, seed: 3 });
    expect(r.generated.images).toBe(2);
    expect(r.generated.described + r.generated.noFace).toBe(2);
    expect(r.real.images).toBe(9);
    expect(r.real.described + r.real.noFace).toBe(9);
    expect(r.real.described).toBeGreaterThanOrEqual(7); // real faces at 32 px are mostly still found
    expect(r.halves.a + r.halves.b).toBe(r.real.described);
    expect(r.halves.identitiesA + r.halves.identitiesB).toBe(r.real.identities);
    expect(typeof r.floor.distance).toBe('number');
    expect(r.floor.distance!).toBeGreaterThan(0);
    // different people (7 identities): descriptors far apart on average
    expect(r.diversity.real!).toBeGreaterThan(0.6);
    // random-weight samples hold no faces: the distance says why it is missing
    if (r.generated.described < 2) {
      expect(r.frechet.distance).toBeNull();
      expect(r.frechet.note).toMatch(/at least 2/);
    }
  });

  it.skipIf(!HAVE_LFW)(`measureIdentityFrechet reuses a given analysis (here with real descriptors planted) ${NEEDS_LFW}`, async () => {
    const real = await Promise.all(
      ['Abel_Pacheco_0001.jpg', 'Abel_Pacheco_0004.jpg', 'AJ_Lamas_0001.jpg'].map((f) => cropAndResize(join(LFW_IMAGES, f), LFW_CROP, 32)),
    );
    const analyses = await analyzeFaces(real, { descriptors: true });
    expect(analyses.every((x) => x.found)).toBe(true);
    const r = await measureIdentityFrechet(model, {
      samples: 3,
      realFaces: 4,
      datasetDir: LFW,
      seed: 9,
      analysis: { analyses, seed: 9, generateSeconds: 0, analyzeSeconds: 0 },
    });
    expect(r.generated.described).toBe(3);
    expect(r.frechet.distance).toBeGreaterThan(0);
    // 3 planted samples and a 2-face half: too few for k = 3 neighbours, so no precision / recall
    expect(r.precisionRecall.generatedVsHalf).toBeNull();
    expect(r.generatedVsHalf.distance === null || r.generatedVsHalf.distance > 0).toBe(true);
  });

  it.skipIf(!HAVE_LFW)(`measureIdentityFrechet: precision / recall at the halves' sizes, beside the real halves ${NEEDS_LFW}`, async () => {
    const planted = await Promise.all(
      ['Al_Gore_0002.jpg', 'Al_Gore_0004.jpg', 'Al_Pacino_0001.jpg', 'Al_Pacino_0002.jpg', 'Al_Sharpton_0001.jpg', 'Al_Sharpton_0002.jpg', 'Aaron_Eckhart_0001.jpg'].map((f) =>
        cropAndResize(join(LFW_IMAGES, f), LFW_CROP, 32),
      ),
    );
    const analyses = await analyzeFaces(planted, { descriptors: true });
    const r = await measureIdentityFrechet(model, { samples: 7, realFaces: 12, datasetDir: LFW, seed: 9, analysis: { analyses, seed: 9, generateSeconds: 0, analyzeSeconds: 0 } });
    const { generatedVsHalf: g, realHalves: h } = r.precisionRecall;
    expect(r.halves.a).toBeGreaterThan(3);
    expect(r.halves.b).toBeGreaterThan(3);
    expect(g).not.toBeNull();
    expect(h).not.toBeNull();
    expect(g!.counts).toEqual([Math.min(r.halves.a, r.generated.described), r.halves.b]);
    expect(h!.counts).toEqual([r.halves.a, r.halves.b]);
    for (const x of [g!, h!]) for (const v of [x.precision, x.recall, x.coverage]) expect(v >= 0 && v <= 1).toBe(true);
    for (const x of [g!, h!]) expect(x.density >= 0 && x.density <= x.counts[1] / x.k).toBe(true); // at most every real ball holds every sample
  });

  it('splitByIdentity keeps each person in one half and balances the halves', () => {
    const items = ['a', 'a', 'a', 'b', 'c', 'c', 'd'].map((identity, i) => ({ identity, key: `f${i}` }));
    const [x, y] = splitByIdentity(items);
    expect(x.length + y.length).toBe(7);
    const ids = (h: typeof items) => new Set(h.map((i) => i.identity));
    for (const id of ids(x)) expect(ids(y).has(id)).toBe(false);
    expect(Math.abs(x.length - y.length)).toBeLessThanOrEqual(3);
  });

  it.skipIf(!HAVE_LFW)(`evaluateModel shares one sample analysis between detection and Frechet ${NEEDS_LFW}`, async () => {
    const stages = new Set<string>();
    const e = await evaluateModel(model, {
      samples: 2,
      pulseFaces: 0,
      fidSamples: 3,
      realFaces: 4,
      datasetDir: LFW,
      seed: 5,
      onProgress: (s) => stages.add(s),
    });
    expect(e.pulse).toBeNull();
    expect(e.detection!.samples).toBe(2);
    expect(e.identity!.generated.images).toBe(3);
    expect([...stages].sort()).toEqual(['real', 'samples']);
    const again = await analyzeSamples(model, { count: 2, seed: 5, descriptors: false });
    expect(again.analyses.map((a) => a.score)).toEqual(e.detection!.scores);
  });

  it.skipIf(!HAVE_LFW)(`the eval-model command writes a JSON report ${NEEDS_LFW}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pulse-eval-'));
    const out = join(dir, 'report.json');
    const history = join(dir, 'history.jsonl');
    const program = new Command('pulse').exitOverride();
    registerEvalModel(program);
    const we = process.stderr.write.bind(process.stderr);
    let err = '';
    process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
    try {
      await program.parseAsync(
        ['eval-model', '--model', model.source, '--dataset', LFW, '--samples', '2', '--pulse-faces', '2', '--fid-samples', '2', '--real-faces', '4', '--steps', '1', '--pulse-batch', '2', '--quiet', '--out', out, '--history', history],
        { from: 'user' },
      );
    } finally {
      process.stderr.write = we;
    }
    const report = JSON.parse(readFileSync(out, 'utf8'));
    // Relative to the checkout when the model lies beside it (a clone in the temp folder's parent).
    expect(report.model).toBe(portablePath(model.source));
    expect(report.backend).toBe(tf.getBackend());
    expect(report.counts).toEqual({ samples: 2, pulseFaces: 2, fidSamples: 2, realFaces: 4 });
    expect(report.detection.samples).toBe(2);
    expect(report.pulse.faces).toBe(2);
    expect(report.pulse.options.steps).toBe(1);
    // The dev faces are named relative to the checkout (../shared/...), never by this machine's folders.
    for (const f of report.pulse.perFace) expect(f.file).toBe(portablePath(f.file));
    expect(report.identity.real.images).toBe(4);
    expect(report.faceAnalyzer.protocol).toEqual(FACE_PROTOCOL);
    expect(err).toMatch(/detection: face found in/);
    // --history appends one line with the three measures (the tiny model records no training).
    const [line] = readHistory(history);
    expect(line).toMatchObject({ model: portablePath(model.source), steps: null, imagesSeen: null, seed: 1 });
    expect(line.detection).toEqual({ detected: report.detection.detected, samples: 2, rate: report.detection.rate });
    expect(line.pulse!.faces).toBe(2);
    expect(line.frechet).toBe(report.identity.frechet.distance ?? null); // 2 samples: too few for a distance
    await expect(
      program.parseAsync(['eval-model', '--model', model.source, '--samples', '0', '--pulse-faces', '0', '--fid-samples', '0', '--out', out], { from: 'user' }),
    ).rejects.toThrow(/already exists/);
  });
});

describe('evaluation history', () => {
  const report = (images: number, frechet: number) => ({
    started: `2026-11-26T1${images % 10}:00:00.000Z`,
    model: 'models/default',
    seed: 1,
    detection: { detected: 230, samples: 256, rate: 230 / 256 },
    pulse: { succeeded: 99, faces: 100, successRate: 0.99, medianMinMse: 9e-4 },
    identity: { frechet: { distance: frechet, counts: [450, 486] }, floor: { distance: 0.064 } },
  });
  it('appends lines, reads them back, and renders them by images seen in the model card', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'pulse-hist-')), 'h.jsonl');
    appendHistory(file, historyEntry(report(2, 0.2), { training: { steps: 200, imagesSeen: 3200, trainingSeconds: 7200 } }));
    appendHistory(file, historyEntry(report(1, 0.3), { training: { steps: 100, imagesSeen: 1600, trainingSeconds: 3600 } }));
    const entries = readHistory(file);
    expect(entries.map((e) => e.imagesSeen)).toEqual([3200, 1600]);
    expect(entries[0]).toMatchObject({ steps: 200, frechet: 0.2, frechetFloor: 0.064, frechetCounts: [450, 486] });
    const table = renderHistoryTable(entries).split('\n');
    expect(table[2]).toBe('| - (?) | 1,600 | 100 | 1.00 h | 230/256 = 89.8% | 99/100 = 99.0% | 9.00e-4 | 0.300 | 0.064 | - | - | - |');
    expect(table[3]).toMatch(/^\| - \(\?\) \| 3,200 \| 200 \| 2.00 h .* 0.200 \| 0.064 \| - \| - \| - \|$/);
    appendHistory(
      file,
      historyEntry(
        {
          ...report(3, 0.1),
          identity: { ...report(3, 0.1).identity, diversity: { generated: 0.71, real: 0.8 }, precisionRecall: { generatedVsHalf: { precision: 0.995, recall: 0.004 } } },
          pulse: { ...report(3, 0.1).pulse, solutionDiversity: { median: 0.62 } },
        },
        { training: { steps: 300, imagesSeen: 4800, trainingSeconds: 7200 } },
      ),
    );
    expect(renderHistoryTable(readHistory(file)).split('\n')[4]).toMatch(/\| 0.100 \| 0.064 \| 0.710 \(0.800\) \| 0.99 \/ 0.00 \/ - \| 0.620 \|$/);
    appendHistory(
      file,
      historyEntry(
        { ...report(4, 0.1), identity: { ...report(4, 0.1).identity, precisionRecall: { generatedVsHalf: { precision: 0.995, recall: 0, density: 1.4, coverage: 0.126 } } } },
        { training: { steps: 400, imagesSeen: 6400, trainingSeconds: 9000 } },
      ),
    );
    expect(readHistory(file).at(-1)).toMatchObject({ precision: 0.995, recall: 0, density: 1.4, coverage: 0.126 });
    expect(renderHistoryTable(readHistory(file)).split('\n')[5]).toMatch(/\| 0.99 \/ 0.00 \/ 0.13 \| - \|$/);
    const card = renderModelCard({ name: 'm', config: {}, metadata: {}, history: entries });
    expect(card).toContain('## Across training');
    expect(card).toContain(table[3]);
    // A successor run's rows come after the replaced model's, though it saw more images only in its own run.
    const v1 = historyEntry({ ...report(1, 0.24), realFaces: 'lfw-crop' }, { run: 'experiments/train-default', training: { imagesSeen: 93168 } });
    const v2 = historyEntry({ ...report(5, 0.15), realFaces: 'ffhq' }, { run: 'experiments/train-v2', training: { imagesSeen: 52000 } });
    const v2later = historyEntry({ ...report(6, 0.12), realFaces: 'ffhq' }, { run: 'experiments/train-v2', training: { imagesSeen: 150000 } });
    const runs = renderHistoryTable([v2later, v2, v1]).split('\n').slice(2).map((l) => l.split(' | ').slice(0, 2).join(' | '));
    expect(runs).toEqual(['| `experiments/train-default` (lfw-crop) | 93,168', '| `experiments/train-v2` (ffhq) | 52,000', '| `experiments/train-v2` (ffhq) | 150,000']);
    writeFileSync(file, '{"ok":1}\nnot json\n');
    expect(() => readHistory(file)).toThrow(/h\.jsonl:2 is not a JSON line/);
    expect(() => readHistory(`${file}.missing`)).toThrow(/eval-model --history/);
  });
});

describe('model card', () => {
  it('describes the FFHQ alignment, names the run, and shows the collapse measures beside their targets', () => {
    const evaluation = {
      backend: 'tensorflow',
      seconds: 600,
      seed: 1,
      detection: { detected: 248, samples: 256, rate: 248 / 256 },
      pulse: { succeeded: 100, faces: 100, successRate: 1, medianMinMse: 9.3e-4, solutionDiversity: { median: 0.474 } },
      identity: { frechet: { distance: 0.156 }, floor: { distance: 0.07 }, diversity: { generated: 0.52, real: 0.8 } },
    };
    const card = renderModelCard({ name: 'default', config: {}, metadata: { run: 'experiments/train-v2-lr1e-3', data: { crop: 'ffhq', split: 'train', count: 6114 } }, evaluation });
    expect(card).toContain('aligned by the FFHQ protocol');
    expect(card).toContain('| run | `experiments/train-v2-lr1e-3`');
    expect(card).toContain('| 0.520 = 0.65x real | >= 0.9x that of real dev faces (0.800) |');
    expect(card).toContain("a face's solutions | 0.474 |");
    const v1 = renderModelCard({ name: 'default', config: {}, metadata: { data: { crop: { left: 19, top: 24, size: 112 } } }, evaluation: { ...evaluation, identity: { frechet: { distance: 0.2 } }, pulse: { ...evaluation.pulse, solutionDiversity: undefined } } });
    expect(v1).toContain('crop {"left":19,"top":24,"size":112} of the 150x150 photos');
    expect(v1).not.toContain('| run |');
    expect(v1).toContain('(collapse shows here) | not measured |');
    expect(v1).not.toContain('| outputs |');
    expect(card).not.toContain('precision / recall'); // reports from before the measure: no row
    const withPr = renderModelCard({
      name: 'default',
      config: {},
      metadata: {},
      evaluation: { ...evaluation, identity: { ...evaluation.identity, precisionRecall: { generatedVsHalf: { precision: 0.714, recall: 0.226 }, realHalves: { precision: 0.806, recall: 0.8 } } } },
    });
    expect(withPr).toContain('real faces the samples cover) | 0.71 / 0.23 | real half vs half: 0.81 / 0.80 |');
    expect(withPr).not.toContain('density / coverage'); // reports from before density and coverage: no row
    const withDc = renderModelCard({
      name: 'default',
      config: {},
      metadata: {},
      evaluation: {
        ...evaluation,
        identity: {
          ...evaluation.identity,
          precisionRecall: { generatedVsHalf: { precision: 0.995, recall: 0, density: 1.234, coverage: 0.05 }, realHalves: { precision: 0.75, recall: 0.8, density: 0.97, coverage: 0.83 } },
        },
      },
    });
    expect(withDc).toContain("real faces with a sample in theirs) | 1.23 / 0.05 | real half vs half: 0.97 / 0.83 |");
    expect(card).not.toContain('| noise |');
    const quiet = renderModelCard({ name: 'quiet', config: {}, metadata: { training: { config: { noiseMaxSide: 16 } } } });
    expect(quiet).toContain("| noise | trained with noise maps up to 16 px only: the finer layers' noise strengths are 0");
    expect(card).not.toContain('| vision-aided D |');
    const aided = renderModelCard({ name: 'aided', config: {}, metadata: { training: { config: { visionAided: 'age-gender', visionWeight: 1 } } } });
    expect(aided).toContain("| vision-aided D | beside D, a trainable head on the frozen features of face-api's age and gender net (Kumari et al. 2022), loss weight 1;");
    expect(aided).not.toContain('| mode seeking |');
    const seeking = renderModelCard({ name: 'seeking', config: {}, metadata: { training: { config: { modeSeeking: 0.5 } } } });
    expect(seeking).toContain("| mode seeking | G rewarded for faces that differ as their latents do, in the frozen age and gender net's features (Mao et al. 2019), weight 0.5;");
    const skip = renderModelCard({ name: 'skip', config: { synthesis: { resolution: 64, architecture: 'skip' } }, metadata: {} });
    expect(skip).toContain("| outputs | skip: a toRGB per block, summed (StyleGAN2's skip architecture; the official code has v1's single toRGB");
  });
});

describe('model card lineage', () => {
  it('lists each branch point of the run, oldest first, and nothing for a run trained from scratch', () => {
    const branchedFrom = {
      from: 'experiments/train-v2-lr1e-3',
      images: 160000,
      changed: { r1Gamma: { parent: 0.0512, branch: 0.2048 } },
      parent: { from: 'experiments/train-v2', images: 105600, changed: { lrG: { parent: 0.002, branch: 0.001 } } },
    };
    const rows = renderModelCard({ name: 'm', config: {}, metadata: { branchedFrom } })
      .split('\n')
      .filter((l) => l.startsWith('| branched |'));
    expect(rows).toEqual([
      '| branched | from `experiments/train-v2` after 105,600 images; changed lrG 0.002 -> 0.001 (the recipe row is the branch\'s) |',
      '| branched | from `experiments/train-v2-lr1e-3` after 160,000 images; changed r1Gamma 0.0512 -> 0.2048 (the recipe row is the branch\'s) |',
    ]);
    expect(renderModelCard({ name: 'm', config: {}, metadata: {} })).not.toContain('| branched |');
  });
});

describe('diversity (the collapse measure)', () => {
  it('mean pairwise distance by hand, and the ratio to real faces', () => {
    const d = (...v: number[]) => Float32Array.from(v);
    // Pairs of (0,0), (3,4), (6,8): distances 5, 10, 5 -> mean 20/3.
    expect(meanPairwiseDistance([d(0, 0), d(3, 4), d(6, 8)])).toBeCloseTo(20 / 3, 12);
    expect(meanPairwiseDistance([d(1, 2)])).toBeNull();
    const collapsed = [d(1, 0), d(1, 0), d(1, 0)];
    expect(compareDiversity(collapsed, [d(0, 0), d(3, 4)])).toEqual({ generated: 0, real: 5, ratio: 0 });
    expect(() => meanPairwiseDistance([d(1, 2), d(1, 2, 3)])).toThrow(/descriptor 1 has 3 values, descriptor 0 has 2/);
  });
});

describe('real-face convention', () => {
  it("follows the model's training data: FFHQ-aligned models are compared with aligned dev faces", () => {
    expect(conventionOf({ data: { crop: 'ffhq' } })).toBe('ffhq');
    expect(conventionOf({ data: { crop: { left: 19, top: 24, size: 112 } } })).toBe('lfw-crop');
    expect(conventionOf({})).toBe('lfw-crop');
  });
});
