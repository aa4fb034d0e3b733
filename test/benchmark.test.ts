/**
 * The benchmark pipeline on a tiny random generator (32 px), 2 LFW dev faces read in place from
 * ../shared/datasets/lfw, factor 4, PULSE 2 steps; NIQE with BasicSR's pristine params from
 * ../shared/metrics.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../src/cli/convert.js';
import { registerBenchData } from '../src/cli/bench-data.js';
import { registerBenchmark } from '../src/cli/benchmark.js';
import { type BenchManifest, makeBenchData, readBenchImage, readBenchManifest, verifyBenchData } from '../src/benchmark/bench-data.js';
import { esrganPlan, loadEsrgan, upscaleBicubic, upscaleNearest } from '../src/benchmark/baselines.js';
import { SAME_PERSON_THRESHOLD, compareIdentity, diversity, pixelDistance } from '../src/benchmark/identity.js';
import { type BenchMethod, parseMethods } from '../src/benchmark/methods.js';
import { BENCH_CONFIG_FILE, benchmarkConfig } from '../src/benchmark/benchmark-config.js';
import { planBenchmark } from '../src/benchmark/plan.js';
import type { BenchResultLine } from '../src/benchmark/result-line.js';
import { measureOutput } from '../src/benchmark/measure-output.js';
import { runBenchmark } from '../src/benchmark/runner.js';
import { distributionFigure } from '../src/benchmark/distribution-plots.js';
import { type OutputRow, TABLE_METRICS, summarizeBenchmark, tableHeader } from '../src/benchmark/summary.js';
import { readImage, toBytesLikeTorchvision } from '../src/io/image.js';
import { saveTorchCheckpoint } from '../src/io/torch-checkpoint-writer.js';
import { loadNiqeParams } from '../src/metrics/niqe-model.js';
import { niqe, upscaleForNiqe } from '../src/metrics/niqe.js';
import { BicubicDownsampler } from '../src/pulse/bicubic.js';
import { parseShard } from '../src/run-store/shard.js';
import { useTestBackend } from './helpers/backend.js';
import { FIXTURE_FACES, FIXTURE_METRICS, HAVE_LFW, LFW_DIR } from './helpers/paths.js';
import { writeTinyTorchModel } from './helpers/tiny-model.js';

/**
 * The faces: LFW dev faces where ../shared is beside the checkout, else the built-in model's
 * generated faces in test/fixtures (a plain folder, centre crop).
 */
const SOURCE = HAVE_LFW
  ? { dir: LFW_DIR, args: ['--split', 'dev'], layout: 'lfw', split: 'dev', crop: 'lfw', first: 'AJ_Lamas_0001', identity: 'AJ_Lamas' as string | null }
  : { dir: FIXTURE_FACES, args: [], layout: 'folder', split: 'all', crop: 'center', first: 'generated-7000', identity: null };
const LFW = SOURCE.dir;
const NIQE_PARAMS = join(FIXTURE_METRICS, 'niqe_pris_params.json');
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

let work: string;
let modelDir: string;
let data: string;
let manifest: BenchManifest;

function program(): Command {
  const p = new Command('pulse').option('--backend <name>').exitOverride();
  registerBenchData(p);
  registerBenchmark(p);
  return p;
}

function readLines(path: string): BenchResultLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as BenchResultLine);
}

beforeAll(async () => {
  await useTestBackend();
  work = mkdtempSync(join(tmpdir(), 'pulse-bench-'));
  modelDir = await convert(await writeTinyTorchModel(), { out: join(work, 'model') }); // 32 px, project format
  data = join(work, 'data');
  await program().parseAsync(['bench-data', LFW, '--size', '32', '--factors', '4,8', '--count', '2', ...SOURCE.args, '--out', data, '--quiet'], {
    from: 'user',
  });
  manifest = readBenchManifest(data);
}, 120_000);

describe('pulse bench-data', () => {
  it('writes HR, LR per factor and a manifest with the sha256 of every file', async () => {
    expect(manifest.size).toBe(32);
    expect(manifest.factors).toEqual([4, 8]);
    expect(manifest.source.layout).toBe(SOURCE.layout);
    expect(manifest.source.split).toBe(SOURCE.split);
    expect(manifest.crop.name).toBe(SOURCE.crop);
    expect(manifest.faces).toHaveLength(2);
    expect(manifest.faces[0].id).toBe(SOURCE.first);
    if (SOURCE.identity) expect(manifest.faces[0].identity).toBe(SOURCE.identity);
    for (const face of manifest.faces) {
      expect(face.sourceSha256).toBe(sha(face.source));
      expect(face.hr).toMatchObject({ file: `hr/${face.id}.png`, width: 32, height: 32 });
      expect(face.hr.sha256).toBe(sha(join(data, face.hr.file)));
      for (const f of [4, 8]) {
        const lr = face.lr[String(f)];
        expect(lr).toMatchObject({ file: `lr-x${f}/${face.id}.png`, width: 32 / f, height: 32 / f });
        expect(lr.sha256).toBe(sha(join(data, lr.file)));
      }
    }
    expect(verifyBenchData(data)).toEqual([]);
  });

  it('makes the LR with PULSE BicubicDownsampler from the saved HR, rounded like ToPILImage', async () => {
    const face = manifest.faces[1];
    const { image: hr } = await readImage(join(data, face.hr.file));
    const { image: lr } = await readImage(join(data, face.lr['4'].file));
    const down = new BicubicDownsampler(4);
    const t = tf.tidy(() => down.apply(tf.tensor4d(hr.data, [1, 32, 32, 3])));
    const expected = toBytesLikeTorchvision((await t.data()) as Float32Array);
    t.dispose();
    down.dispose();
    expect(Array.from(lr.data, (v) => Math.round(v * 255))).toEqual(Array.from(expected));
  });

  it('refuses to overwrite without --force; a changed file fails verification', async () => {
    await expect(program().parseAsync(['bench-data', LFW, '--size', '32', '--factors', '4', '--count', '1', '--out', data, '--quiet'], { from: 'user' })).rejects.toThrow(
      /already holds bench data.*--force/,
    );
    const copy = join(work, 'data-copy');
    await makeBenchData({ source: LFW, size: 32, factors: [4], count: 1, out: copy });
    await makeBenchData({ source: LFW, size: 32, factors: [4], count: 1, out: copy, force: true });
    writeFileSync(join(copy, 'lr-x4', `${SOURCE.first}.png`), 'changed');
    expect(verifyBenchData(copy)).toEqual([join(copy, 'lr-x4', `${SOURCE.first}.png`)]);
  });

  it('reads a plain folder with the center crop', async () => {
    const src = join(work, 'plain');
    mkdirSync(src);
    for (const [k, name] of ['b.png', 'a.png'].entries()) {
      const px = Buffer.alloc(40 * 30 * 3);
      for (let i = 0; i < px.length; i++) px[i] = (i * (k + 5)) % 256;
      await sharp(px, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(join(src, name));
    }
    const m = await makeBenchData({ source: src, size: 16, factors: [2, 4], out: join(work, 'plain-data') });
    expect(m.source).toMatchObject({ layout: 'folder', split: 'all' });
    expect(m.crop).toMatchObject({ name: 'center', box: null });
    expect(m.faces.map((f) => f.id)).toEqual(['a', 'b']);
    expect(m.faces[0].lr['4']).toMatchObject({ width: 4, height: 4 });
    await expect(makeBenchData({ source: src, size: 16, factors: [3], out: join(work, 'bad') })).rejects.toThrow(/power of two/);
    await expect(makeBenchData({ source: src, size: 16, factors: [16], out: join(work, 'bad') })).rejects.toThrow(/LR side/);
  });
});

describe('baselines', () => {
  const lr = { width: 8, height: 8, data: Float32Array.from({ length: 8 * 8 * 3 }, (_, i) => ((i * 37) % 256) / 255) };

  it('nearest and bicubic give factor x larger images; nearest repeats pixels', async () => {
    const n = upscaleNearest(lr, 4);
    expect([n.width, n.height, n.data.length]).toEqual([32, 32, 32 * 32 * 3]);
    expect(n.data[(5 * 32 + 7) * 3 + 1]).toBe(lr.data[(1 * 8 + 1) * 3 + 1]);
    for (const kernel of ['matlab', 'sharp'] as const) {
      const b = await upscaleBicubic(lr, 4, kernel);
      expect([b.width, b.height, b.data.length]).toEqual([32, 32, 32 * 32 * 3]);
      expect(Math.min(...b.data)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...b.data)).toBeLessThanOrEqual(1);
    }
    // MATLAB's grid is centre-aligned: a constant image stays constant, a step crosses 0.5 between pixels 7 and 8.
    const step = { width: 4, height: 1, data: Float32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]) };
    const s = await upscaleBicubic(step, 4);
    expect(s.data[7 * 3] + s.data[8 * 3]).toBeCloseTo(1, 6);
  });

  it('plans ESRGAN models for each factor', () => {
    expect(esrganPlan(2)).toEqual([2]);
    expect(esrganPlan(4)).toEqual([4]);
    expect(esrganPlan(8)).toEqual([8]);
    expect(esrganPlan(16)).toEqual([8, 2]);
    expect(esrganPlan(32)).toEqual([8, 4]);
    expect(esrganPlan(64)).toEqual([8, 8]);
  });

  it('ESRGAN (esrgan-slim) runs here: sizes, range, and tiles equal to the whole image', async () => {
    const whole = await loadEsrgan();
    const tiled = await loadEsrgan({ tile: 5 });
    try {
      const a = await whole.upscale(lr, 4);
      expect([a.width, a.height, a.data.length]).toEqual([32, 32, 32 * 32 * 3]);
      expect(Math.min(...a.data)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...a.data)).toBeLessThanOrEqual(1);
      const b = await tiled.upscale(lr, 4);
      let maxDiff = 0;
      for (let i = 0; i < a.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.data[i] - b.data[i]));
      expect(maxDiff).toBeLessThan(1e-4);
      const c = await whole.upscale({ width: 2, height: 2, data: lr.data.slice(0, 12) }, 16); // x8 then x2
      expect([c.width, c.height]).toEqual([32, 32]);
    } finally {
      whole.dispose();
      tiled.dispose();
    }
  }, 60_000);
});

describe('identity helpers', () => {
  it('compares descriptors with the 0.6 threshold; diversity over pairs', () => {
    expect(SAME_PERSON_THRESHOLD).toBe(0.6);
    const a = new Float32Array(128);
    const b = new Float32Array(128);
    b[0] = 0.5;
    const c = new Float32Array(128);
    c[0] = 0.8;
    expect(compareIdentity(b, a)).toEqual({ distance: 0.5, samePerson: true, srFound: true, hrFound: true });
    expect(compareIdentity(c, a).samePerson).toBe(false);
    expect(compareIdentity(null, a)).toEqual({ distance: null, samePerson: false, srFound: false, hrFound: true });
    expect(compareIdentity(a, null)).toEqual({ distance: null, samePerson: null, srFound: true, hrFound: false });
    const px = (v: number) => new Uint8Array(12).fill(v);
    expect(pixelDistance(px(0), px(255))).toBe(1);
    const d = diversity([
      { descriptor: a, pixels: px(0) },
      { descriptor: b, pixels: px(51) },
      { descriptor: null, pixels: px(102) },
    ]);
    expect(d.descriptorPairs).toBe(1);
    expect(d.meanDescriptorDistance).toBeCloseTo(0.5, 6);
    expect(d.pixelPairs).toBe(3);
    expect(d.meanPixelDistance).toBeCloseTo((0.2 + 0.4 + 0.2) / 3, 6);
  });
});

describe('distribution plots', () => {
  const row = (method: BenchMethod, face: string, niqe: number | null, lrMse: number): OutputRow => ({
    face, person: null, method, runSeed: 1, seed: 1, solution: 1, niqe, psnr: 20, psnrY: 21, ssim: 0.5, ssimY: 0.5,
    lrMse, success: 0, identityDistance: null, samePerson: null, srFaceFound: null, seconds: 0, stepsToEps: null, image: `${face}.png`,
  });
  it('one box per method and metric with every output as a point; empty metrics dropped; zeros floored on log axes', () => {
    const fig = distributionFigure({ nearest: [row('nearest', 'a', 5, 1e-2), row('nearest', 'b', null, 2e-2)], pulse: [row('pulse', 'a', 4, 1e-6)] }, 't');
    const names = [...new Set(fig.data.map((t) => (t.yaxis as string)))];
    // niqe, psnr, ssim, lrMse, seconds (identity has no value anywhere)
    expect(names).toEqual(['y', 'y2', 'y3', 'y4', 'y5']);
    const niqe = fig.data.filter((t) => t.yaxis === 'y');
    expect(niqe.map((t) => [t.name, t.y])).toEqual([['nearest', [5]], ['pulse', [4]]]);
    expect(fig.data.every((t) => t.type === 'box' && t.boxpoints === 'all')).toBe(true);
    expect((fig.layout as Record<string, { type?: string }>).yaxis4.type).toBe('log');
    const seconds = fig.data.filter((t) => t.yaxis === 'y5');
    expect(seconds[0].y).toEqual([1e-12, 1e-12]);
  });
});

describe('pulse benchmark', () => {
  const options = (out: string) => ({
    data,
    out,
    methods: parseMethods('pulse,bicubic,nearest,esrgan'),
    factor: 4,
    seeds: [1, 2],
    pulse: { steps: 2 },
    model: modelDir,
    niqeParams: NIQE_PARAMS,
    quiet: true,
    log: () => {},
  });

  it('resumes without losing or repeating a run, then summarizes (NIQE protocol on every method)', async () => {
    const out = join(work, 'bench');
    const first = await runBenchmark({ ...options(out), maxRuns: 5 });
    // 2 faces x (hr, pulse x 2 seeds, bicubic, nearest, esrgan)
    expect(first.total).toBe(12);
    expect(first.ran).toBe(5);
    expect(first.remaining).toBe(7);
    const rest = await runBenchmark(options(out));
    expect(rest.ran).toBe(7);
    expect(rest.skipped).toBe(5);
    expect(rest.failed).toBe(0);
    const again = await runBenchmark(options(out));
    expect(again.ran).toBe(0);

    const lines = readLines(join(out, 'results.jsonl'));
    const ids = lines.map((l) => l.id);
    expect(new Set(ids).size).toBe(12);
    expect(ids).toHaveLength(12);
    const plan = planBenchmark(manifest, benchmarkConfig(options(out), manifest));
    expect(new Set(ids)).toEqual(new Set(plan.map((r) => r.id)));

    for (const l of lines) {
      expect(l.status, l.error).toBe('ok');
      expect(l.kind).toBe('benchmark');
      expect(l.factor).toBe(4);
      for (const o of l.outputs!) {
        expect(existsSync(join(out, o.image))).toBe(true);
        const { image } = await readImage(join(out, o.image));
        expect([image.width, image.height]).toEqual([32, 32]);
        // 32 px -> 256 px (x8) before NIQE, for every method, HR included.
        expect(o.niqeUpscale).toBe(8);
        // 256 px holds 4 NIQE blocks and no output here is flat: every one gets a value
        // (the error path, for images where NIQE is undefined, is tested on its own below).
        expect(o.niqeError, `${l.method} ${o.image}`).toBeUndefined();
        expect(Number.isFinite(o.niqe), `${l.method} ${o.image}: niqe ${o.niqe}`).toBe(true);
        expect(o.niqe!).toBeGreaterThan(0);
        expect(o.identity).not.toBeNull();
      }
    }
    const hr = lines.find((l) => l.method === 'hr')!;
    expect(hr.outputs![0].psnr).toBeNull(); // identical
    // The HR's NIQE is NIQE of the saved HR upscaled x8 (the protocol), to the last digit.
    const hrFace = plan.find((r) => r.id === hr.id)!.face;
    const { bytes: hrBytes } = await readBenchImage(data, hrFace.hr);
    const up = upscaleForNiqe({ width: 32, height: 32, data: hrBytes }, 192);
    expect(hr.outputs![0].niqe).toBe(niqe(up.data, up.width, up.height, loadNiqeParams(NIQE_PARAMS)));
    expect(hr.outputs![0].ssim).toBeCloseTo(1, 12);
    expect(lines.filter((l) => l.method === 'pulse').map((l) => l.seed).sort()).toEqual([1, 1, 2, 2]);
    expect(lines.find((l) => l.method === 'pulse')!.solutions).toHaveLength(1);

    const { summary, markdownPath, csvPaths } = await summarizeBenchmark(out, { log: () => {} });
    const md = readFileSync(markdownPath, 'utf8');
    for (const h of tableHeader()) expect(md).toContain(h);
    for (const m of ['HR', 'nearest', 'bicubic', 'esrgan', 'pulse']) expect(md).toMatch(new RegExp(`^\\| ${m} \\|`, 'm'));
    expect(md).toMatch(/NIQE protocol.*HR and every method's output alike.*upscaleForNiqe.*×8/);
    expect(md).toContain('MATLAB imresize bicubic');
    expect(summary.niqeProtocol.upscaleFactors).toEqual([8]);
    expect(summary.finished).toBe(12);
    expect(summary.methods.map((m) => m.method)).toEqual(['hr', 'pulse', 'bicubic', 'nearest', 'esrgan']);
    for (const m of summary.methods) {
      expect(m.faces).toBe(2);
      expect(m.metrics.niqe.n).toBeGreaterThan(0);
      expect(m.metrics.lrMse.mean).toBeGreaterThanOrEqual(0);
      for (const t of TABLE_METRICS) expect(m.metrics[t.key]).toBeDefined();
    }
    const pulse = summary.methods.find((m) => m.method === 'pulse')!;
    expect(pulse.outputs).toBe(4);
    expect(pulse.diversity?.faces).toBe(2);
    expect(pulse.diversity!.pixelDistance.mean).toBeGreaterThan(0);
    expect(md).toContain('Diversity of solutions per face');
    expect(csvPaths.map((p) => p.split('/').pop()).sort()).toEqual(['bicubic.csv', 'esrgan.csv', 'hr.csv', 'nearest.csv', 'pulse.csv']);
    const csv = readFileSync(join(out, 'distributions', 'pulse.csv'), 'utf8').trim().split('\r\n');
    expect(csv[0]).toBe('face,person,method,runSeed,seed,solution,niqe,psnr,psnrY,ssim,ssimY,lrMse,success,identityDistance,samePerson,srFaceFound,seconds,stepsToEps,image');
    expect(csv).toHaveLength(5);
    // steps until eps: PULSE's per-solution value from its result lines; no value for the others.
    const pulseSteps = lines.filter((l) => l.method === 'pulse').flatMap((l) => l.solutions!.map((x) => String(x.stepsToEps ?? '')));
    expect(csv.slice(1).map((r) => r.split(',')[17]).sort()).toEqual(pulseSteps.sort());
    expect(summary.methods.find((m) => m.method === 'nearest')!.metrics.stepsToEps.n).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')).methods).toHaveLength(5);
  }, 300_000);

  it('an output where NIQE is undefined (a flat image) records niqeError and still gets every other measure', async () => {
    const config = benchmarkConfig({ ...options(join(work, 'unused')), identity: false }, manifest);
    const face = manifest.faces[0];
    const hr = await readBenchImage(data, face.hr);
    const lr = await readBenchImage(data, face.lr['4']);
    const down = new BicubicDownsampler(4);
    const ctx = { config, niqeParams: loadNiqeParams(NIQE_PARAMS), down };
    const loaded = { face, hr: hr.image, hrBytes: hr.bytes, lr: lr.image };
    try {
      const flat = await measureOutput({ width: 32, height: 32, data: new Float32Array(32 * 32 * 3).fill(0.5) }, loaded, ctx);
      expect(flat.niqe).toBeNull();
      expect(flat.niqeError).toMatch(/NIQE is undefined for a constant image/);
      expect(flat.niqeUpscale).toBe(8);
      expect(Number.isFinite(flat.psnr)).toBe(true);
      expect(flat.lrMse).toBeGreaterThan(0);
      // The HR itself, measured the same way, has a value and no error.
      const same = await measureOutput(hr.image, loaded, ctx);
      expect(same.niqeError).toBeUndefined();
      expect(Number.isFinite(same.niqe)).toBe(true);
    } finally {
      down.dispose();
    }
  });

  it('without a NIQE model every NIQE is null with the reason, the rest is measured, and the runs have their own ids', async () => {
    const out = join(work, 'bench-no-niqe');
    const base = { ...options(out), methods: parseMethods('bicubic,nearest'), identity: false };
    const missing = 'no model here (offline test)';
    const report = await runBenchmark({ ...base, niqeParams: null, niqeMissing: missing });
    expect(report.failed).toBe(0);
    const lines = readLines(join(out, 'results.jsonl'));
    expect(lines).toHaveLength(6); // 2 faces x (hr, bicubic, nearest)
    for (const l of lines) {
      expect(l.status, l.error).toBe('ok');
      for (const o of l.outputs!) {
        expect(o.niqe).toBeNull();
        expect(o.niqeError).toBe(`NIQE not measured: ${missing}`);
        expect(o.lrMse).toBeGreaterThanOrEqual(0);
      }
    }
    const { markdownPath, summary } = await summarizeBenchmark(out, { log: () => {} });
    expect(readFileSync(markdownPath, 'utf8')).toContain(`**NIQE not measured**: ${missing}`);
    expect(summary.methods.every((m) => m.metrics.niqe.n === 0 && m.metrics.ssim.n === 2)).toBe(true);
    // With the model, nothing is reused: every run is measured again, now with NIQE.
    const withNiqe = await runBenchmark(base);
    expect(withNiqe.ran).toBe(6);
    expect(withNiqe.skipped).toBe(0);
  }, 120_000);

  it('a --gaussian-fit file is part of PULSE run ids: results made with another fit are not reused', async () => {
    const writeFit = async (path: string, meanValue: number, stdValue: number) => {
      const n = 512;
      await saveTorchCheckpoint(
        path,
        new Map([
          ['mean', { shape: [n], data: new Float32Array(n).fill(meanValue) }],
          ['std', { shape: [n], data: new Float32Array(n).fill(stdValue) }],
        ]),
        { format: 'legacy' },
      );
    };
    const fitA = join(work, 'fit-a.pt');
    const fitB = join(work, 'fit-b.pt');
    const fitACopy = join(work, 'fit-a-copy.pt');
    await writeFit(fitA, 0, 1);
    await writeFit(fitB, 0.1, 0.9);
    await writeFit(fitACopy, 0, 1);
    const out = join(work, 'fits');
    const base = { ...options(out), methods: parseMethods('pulse,nearest'), seeds: [1], identity: false };
    const ids = (gaussianFit?: string) => {
      const plan = planBenchmark(manifest, benchmarkConfig({ ...base, gaussianFit }, manifest));
      return Object.fromEntries((['hr', 'pulse', 'nearest'] as const).map((m) => [m, plan.filter((r) => r.method === m).map((r) => r.id)]));
    };
    const [a, b, none, copy] = [ids(fitA), ids(fitB), ids(), ids(fitACopy)];
    for (const other of [b, none]) {
      for (let i = 0; i < a.pulse.length; i++) expect(a.pulse[i]).not.toBe(other.pulse[i]);
      expect(other.hr).toEqual(a.hr); // the fit changes only PULSE's runs
      expect(other.nearest).toEqual(a.nearest);
    }
    expect(copy).toEqual(a); // the fingerprint follows the bytes, not the path
    expect(() => benchmarkConfig({ ...base, gaussianFit: join(work, 'no-fit.pt') }, manifest)).toThrow(/--gaussian-fit .*no-fit\.pt does not exist/);

    const first = await runBenchmark({ ...base, gaussianFit: fitA });
    expect(first.ran).toBe(6); // 2 faces x (hr, pulse, nearest)
    const config = JSON.parse(readFileSync(join(out, BENCH_CONFIG_FILE), 'utf8'));
    expect(config.gaussianFit).toBe(fitA);
    expect(config.gaussianFitFingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect((await runBenchmark({ ...base, gaussianFit: fitA })).ran).toBe(0);
    const other = await runBenchmark({ ...base, gaussianFit: fitB });
    expect(other.ran).toBe(2); // PULSE again for both faces; hr and nearest reused
    expect(other.skipped).toBe(4);
    const pulseLines = readLines(join(out, 'results.jsonl')).filter((l) => l.method === 'pulse');
    expect(pulseLines).toHaveLength(4);
    expect(new Set(pulseLines.map((l) => l.id)).size).toBe(4);
  }, 180_000);

  it('shards split the runs disjointly and the summary merges them', async () => {
    const out = join(work, 'sharded');
    const base = { ...options(out), methods: parseMethods('nearest,bicubic'), identity: false };
    const a = await runBenchmark({ ...base, shard: parseShard('1/2') });
    const b = await runBenchmark({ ...base, shard: parseShard('2/2') });
    expect(a.ran + b.ran).toBe(6); // 2 faces x (hr, nearest, bicubic)
    const la = readLines(join(out, 'results.shard-1-of-2.jsonl'));
    const lb = readLines(join(out, 'results.shard-2-of-2.jsonl'));
    expect(la.every((l) => l.index % 2 === 0 && l.shard === '1/2')).toBe(true);
    expect(lb.every((l) => l.index % 2 === 1)).toBe(true);
    expect(new Set([...la, ...lb].map((l) => l.id)).size).toBe(6);
    expect(readdirSync(out).filter((f) => f.endsWith('.lock'))).toEqual([]);
    const { summary } = await summarizeBenchmark(out, { log: () => {} });
    expect(summary.finished).toBe(6);
    expect(summary.resultFiles).toEqual(['results.shard-1-of-2.jsonl', 'results.shard-2-of-2.jsonl']);
    expect(summary.methods.find((m) => m.method === 'nearest')!.metrics.identityDistance.n).toBe(0);
  }, 120_000);

  it('runs from the command line and writes the summary', async () => {
    const out = join(work, 'cli');
    await program().parseAsync(
      ['benchmark', data, '--methods', 'nearest', '--factor', '8', '--out', out, '--niqe-params', NIQE_PARAMS, '--no-identity', '--quiet'],
      { from: 'user' },
    );
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toMatch(/4×4 → 32×32 \(8×\)/);
    // The CLI adds the distribution plots: an SVG shown inline, the plotly JSON linked.
    expect(md).toContain('![figures/distributions.svg](figures/distributions.svg)');
    expect(md).toContain('- [figures/distributions.plotly.json](figures/distributions.plotly.json)');
    expect(readFileSync(join(out, 'figures', 'distributions.svg'), 'utf8')).toMatch(/^<svg[\s\S]*class="boxlayer/);
    await expect(
      program().parseAsync(['benchmark', data, '--methods', 'nearest', '--factor', '16', '--out', out, '--niqe-params', NIQE_PARAMS], { from: 'user' }),
    ).rejects.toThrow(/factors 4, 8/);
  }, 60_000);
});
