import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ExperimentConfig, loadExperimentConfig, parseExperimentConfig } from '../src/experiments/config.js';
import { expandGrid, listImages } from '../src/experiments/grid.js';
import { type ResultLine, csvField, readAllResults, toCsv } from '../src/experiments/results.js';
import { finiteMedian } from '../src/util/stats.js';
import { parseShard, shardRuns } from '../src/run-store/shard.js';
import { listResultFiles } from '../src/run-store/store.js';
import { planExperiment, runExperiment, summarizeExperiment } from '../src/experiments/runner.js';
import { useTestBackend } from './helpers/backend.js';
import { REPO_ROOT } from './helpers/paths.js';
import { writeTinyTorchModel } from './helpers/tiny-model.js';
import { runCli } from './helpers/cli.js';

let modelDir: string;
let work: string;
let hrFile: string;
let lrFile: string;
let badFile: string;
let size10File: string;
let lfwDir: string;

async function png(path: string, size: number, seed: number): Promise<void> {
  const px = Buffer.alloc(size * size * 3);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + seed * 101) % 256;
  await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toFile(path);
}

beforeAll(async () => {
  await useTestBackend();
  modelDir = await writeTinyTorchModel(); // 32 px
  work = mkdtempSync(join(tmpdir(), 'pulse-exp-'));
  const inputs = join(work, 'inputs');
  mkdirSync(inputs);
  hrFile = join(inputs, 'hr32.png');
  lrFile = join(inputs, 'lr4.png');
  badFile = join(inputs, 'corrupt.png');
  size10File = join(inputs, 'size10.png');
  await png(hrFile, 32, 1);
  await png(lrFile, 4, 2);
  await png(size10File, 10, 3);
  writeFileSync(badFile, 'not an image');
  // An LFW-style dataset: manifest.csv + images/.
  lfwDir = join(work, 'lfw');
  mkdirSync(join(lfwDir, 'images'), { recursive: true });
  const names = ['Bob_0001.jpg', 'Ann_0001.jpg', 'Cid_0001.jpg'];
  for (const [k, n] of names.entries()) {
    const px = Buffer.alloc(150 * 150 * 3);
    for (let i = 0; i < px.length; i++) px[i] = (i * (k + 3)) % 256;
    await sharp(px, { raw: { width: 150, height: 150, channels: 3 } }).jpeg().toFile(join(lfwDir, 'images', n));
  }
  writeFileSync(join(lfwDir, 'manifest.csv'), 'file,identity,split\nBob_0001.jpg,Bob,dev\nAnn_0001.jpg,Ann,dev\nCid_0001.jpg,Cid,train\n');
});

/** A tiny config: 2 images x 2 seeds x 2 grid points = 8 runs of 2 steps. */
function rawConfig(out: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'tiny',
    model: modelDir,
    inputs: { files: [hrFile, lrFile], factor: 8 },
    seeds: [1, 2],
    base: { steps: 2 },
    grid: { loss: ['100*L2', '100*L2+0.05*GEOCROSS'] },
    out,
    ...extra,
  };
}

function config(raw: Record<string, unknown>): ExperimentConfig {
  return parseExperimentConfig(raw, { source: 'test.json', baseDir: work });
}

function readLines(path: string): ResultLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as ResultLine);
}

function logger(): { log: (l: string) => void; text: () => string } {
  const lines: string[] = [];
  return { log: (l) => void lines.push(l), text: () => lines.join('\n') };
}

const cli = runCli;

describe('experiment config', () => {
  const bad = (patch: Record<string, unknown>) => () => config({ ...rawConfig(join(work, 'x')), ...patch });
  it('names the field and what would work', () => {
    expect(bad({ grid: { nosieType: ['zero'] } })).toThrow(/test\.json: grid\.nosieType: .*did you mean "noiseType"/);
    expect(bad({ base: {}, grid: { steps: ['50'] } })).toThrow(/grid\.steps\[0\]: "50" must be a number/);
    expect(bad({ base: {}, grid: { steps: [10, 0] } })).toThrow(/grid\.steps\[1\]: .*positive integer/);
    expect(bad({ grid: { noiseType: ['random'] } })).toThrow(/grid\.noiseType\[0\]: .*not one of: zero, fixed, trainable/);
    expect(bad({ grid: { loss: ['100*L2', '100*L3'] } })).toThrow(/grid\.loss\[1\]: .*unknown loss term "L3"/);
    expect(bad({ grid: { loss: [] } })).toThrow(/grid\.loss: .*non-empty array/);
    expect(bad({ grid: { steps: [2] } })).toThrow(/grid\.steps: is also set in base/);
    expect(bad({ grid: { loss: ['100*L2', '100*L2'] } })).toThrow(/grid\.loss\[1\]: .*listed twice/);
    expect(bad({ base: { seed: 3 } })).toThrow(/base\.seed: .*"seeds"/);
    expect(bad({ base: { eps: -1 } })).toThrow(/base: option eps=-1/);
    expect(bad({ seeds: [] })).toThrow(/seeds: .*non-empty array of integers/);
    expect(bad({ seeds: [1, 1.5] })).toThrow(/seeds\[1\]: 1\.5 must be an integer/);
    expect(bad({ seeds: [4, 4] })).toThrow(/seeds\[1\]: 4 is listed twice/);
    expect(bad({ inputs: { files: [hrFile] } })).toThrow(/inputs\.factor: is missing/);
    expect(bad({ inputs: { files: [hrFile], factor: 3 } })).toThrow(/inputs\.factor: .*power of two/);
    expect(bad({ inputs: { factor: 8 } })).toThrow(/inputs: needs lfwSplit/);
    expect(bad({ inputs: { factor: 8, lfwSplit: { dir: lfwDir, split: 'test', count: 2, crop: 'lfw' } } })).toThrow(
      /inputs\.lfwSplit\.split: "test" must be one of: train, dev/,
    );
    expect(bad({ inputs: { factor: 8, lfwSplit: { dir: lfwDir, split: 'dev', count: 0 } } })).toThrow(/inputs\.lfwSplit\.count: 0 must be a positive integer/);
    expect(bad({ inputs: { factor: 8, lfwSplit: { dir: lfwDir, split: 'dev', count: 1, crop: 'tight' } } })).toThrow(/inputs\.lfwSplit\.crop: .*lfw, center/);
    expect(bad({ saveImage: true })).toThrow(/saveImage: is not a known field \(did you mean "saveImages"\?\)/);
    expect(bad({ saveImages: 'yes' })).toThrow(/saveImages: "yes" must be true or false/);
    expect(bad({ name: 'my run' })).toThrow(/name: "my run" must be a folder-safe name/);
    expect(bad({ name: undefined })).toThrow(/name: \(missing\)/);
    const file = join(work, 'broken.json');
    writeFileSync(file, '{ "name": ');
    expect(() => loadExperimentConfig(file)).toThrow(/broken\.json is not valid JSON/);
  });

  it('defaults: built-in model, out under experiments/results/<name>, base options official', () => {
    const c = parseExperimentConfig({ name: 'q', inputs: { files: ['a.png'], factor: 8 }, seeds: [1] }, { baseDir: '/data/proj' });
    expect(c.model).toBeNull();
    expect(c.out).toBe('/data/proj/experiments/results/q');
    expect(c.inputs.files![0]).toEqual({ given: 'a.png', path: '/data/proj/a.png' });
    expect(c.saveImages).toBe(false);
    const runs = expandGrid(c, [{ id: 'a.png', path: '/data/proj/a.png', source: 'file' }]);
    expect(runs).toHaveLength(1);
    expect(runs[0].options.loss).toBe('100*L2+0.05*GEOCROSS');
    expect(runs[0].options.seed).toBe(1);
  });

  it('the example config is valid and has 48 runs', async () => {
    const c = loadExperimentConfig(join(REPO_ROOT, 'experiments', 'quick-ablation.json'), { baseDir: REPO_ROOT });
    expect(c.inputs.factor).toBe(8);
    expect(c.seeds).toHaveLength(2);
    expect(c.inputs.lfwSplit?.count).toBe(4);
    const fake = Array.from({ length: 4 }, (_, i) => ({ id: `f${i}.jpg`, path: `/f${i}.jpg`, source: 'lfw' as const, crop: 'lfw' as const }));
    expect(expandGrid(c, fake)).toHaveLength(48);
    expect(expandGrid(c, fake).every((r) => r.options.steps === 100)).toBe(true);
  });
});

describe('the grid', () => {
  it('has images x seeds x points runs, with ids and order stable under key reordering', async () => {
    const a = config({
      name: 'g',
      model: modelDir,
      inputs: { files: [hrFile, lrFile], factor: 8 },
      seeds: [1, 2],
      base: { steps: 2, eps: 0.002 },
      grid: { loss: ['100*L2', '100*L2+0.05*GEOCROSS'], noiseType: ['trainable', 'zero'] },
    });
    const b = config({
      grid: { noiseType: ['trainable', 'zero'], loss: ['100*L2', '100*L2+0.05*GEOCROSS'] },
      base: { eps: 0.002, steps: 2 },
      seeds: [1, 2],
      inputs: { factor: 8, files: [hrFile, lrFile] },
      model: modelDir,
      name: 'g',
    });
    const ra = expandGrid(a, await listImages(a));
    const rb = expandGrid(b, await listImages(b));
    expect(ra).toHaveLength(2 * 2 * 4);
    expect(new Set(ra.map((r) => r.id)).size).toBe(16);
    expect(rb.map((r) => r.id)).toEqual(ra.map((r) => r.id));
    expect(ra.map((r) => r.index)).toEqual([...Array(16).keys()]);
    // Order: image, then seed, then grid point (keys sorted: loss, then noiseType fastest).
    expect(ra.slice(0, 4).map((r) => [r.image.id, r.seed, r.point.loss, r.point.noiseType])).toEqual([
      [hrFile, 1, '100*L2', 'trainable'],
      [hrFile, 1, '100*L2', 'zero'],
      [hrFile, 1, '100*L2+0.05*GEOCROSS', 'trainable'],
      [hrFile, 1, '100*L2+0.05*GEOCROSS', 'zero'],
    ]);
    // Reordering seeds or values reorders runs but keeps their ids; more seeds keep the old ids.
    const c = config({ ...rawConfig(join(work, 'unused')), out: undefined, seeds: [3, 2, 1], base: { eps: 0.002, steps: 2 }, grid: { noiseType: ['zero', 'trainable'], loss: ['100*L2+0.05*GEOCROSS', '100*L2'] }, name: 'g' });
    const rc = expandGrid(c, await listImages(c));
    expect(rc).toHaveLength(24);
    const idsC = new Set(rc.map((r) => r.id));
    expect(ra.every((r) => idsC.has(r.id))).toBe(true);
    // Changing an option changes every id.
    const d = config({ ...rawConfig(join(work, 'unused')), base: { eps: 0.002, steps: 3 }, grid: a.grid, name: 'g' });
    const rd = expandGrid(d, await listImages(d));
    expect(rd.some((r) => ra.some((x) => x.id === r.id))).toBe(false);
  });

  it('lists LFW split faces by file name, and says when there are too few', async () => {
    const c = config({ ...rawConfig(join(work, 'lfw-out')), inputs: { factor: 8, lfwSplit: { dir: lfwDir, split: 'dev', count: 2, crop: 'lfw' } } });
    const images = await listImages(c);
    expect(images.map((i) => i.id)).toEqual(['Ann_0001.jpg', 'Bob_0001.jpg']);
    const tooMany = config({ ...rawConfig(join(work, 'unused')), inputs: { factor: 8, lfwSplit: { dir: lfwDir, split: 'dev', count: 3, crop: 'lfw' } } });
    await expect(listImages(tooMany)).rejects.toThrow(/inputs\.lfwSplit: .* has 2 'dev' faces; count asks for 3/);
  });

  it('shards partition the runs exactly', async () => {
    const c = config(rawConfig(join(work, 'unused')));
    const runs = expandGrid(c, await listImages(c));
    for (let n = 1; n <= 5; n++) {
      const parts = Array.from({ length: n }, (_, i) => shardRuns(runs, parseShard(`${i + 1}/${n}`)));
      const ids = parts.flat().map((r) => r.id);
      expect(ids.length).toBe(runs.length);
      expect(new Set(ids).size).toBe(runs.length);
      parts.forEach((p, i) => expect(p.every((r) => r.index % n === i)).toBe(true));
    }
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('0/3')).toThrow(/between 1 and 3 \(it is 1-based\)/);
    expect(() => parseShard('4/3')).toThrow(/between 1 and 3/);
    expect(() => parseShard('1/0')).toThrow(/at least 1/);
    expect(() => parseShard('1-3')).toThrow(/not of the form i\/n/);
    expect(() => parseShard('a/b')).toThrow(/not of the form i\/n/);
  });
});

describe('running, resuming, summarizing', () => {
  it('resumes after a stop: every run exactly once; a torn last line is redone with a warning', async () => {
    const out = join(work, 'resume');
    const c = config(rawConfig(out, { saveImages: true }));
    const all = await planExperiment(c); // ids include the model fingerprint, as the runner's
    const file = join(out, 'results.jsonl');

    const first = await runExperiment(c, { maxRuns: 3, quiet: true, log: () => {} });
    expect(first).toMatchObject({ total: 8, skipped: 0, ran: 3, failed: 0, remaining: 5 });
    expect(readLines(file).map((l) => l.id)).toEqual(all.slice(0, 3).map((r) => r.id));

    const second = await runExperiment(c, { quiet: true, log: () => {} });
    expect(second).toMatchObject({ skipped: 3, ran: 5, remaining: 0 });
    let lines = readLines(file);
    expect(lines.map((l) => l.id).sort()).toEqual(all.map((r) => r.id).sort());

    // The line format.
    const l = lines.find((x) => x.point.loss === '100*L2+0.05*GEOCROSS')!;
    expect(l).toMatchObject({ v: 1, status: 'ok', experiment: 'tiny', factor: 8, resolution: 32, lowResolution: 4, shard: null });
    expect(typeof l.backend).toBe('string');
    expect(l.options.steps).toBe(2);
    expect(l.seconds).toBeGreaterThan(0);
    expect(l.solutions).toHaveLength(1);
    const s = l.solutions![0];
    expect(s.seed).toBe(l.seed);
    expect(s.success).toBe(s.minMse <= l.options.eps);
    expect(s.minMse).toBeLessThanOrEqual(s.finalMse);
    expect(s.stepsToEps === null || s.stepsToEps === l.trace!.mse[0].findIndex((m) => m <= l.options.eps)).toBe(true);
    expect(l.trace!.L2).toHaveLength(2);
    expect(l.trace!.GEOCROSS).toHaveLength(2);
    expect(l.trace!.TOTAL).toHaveLength(2);
    expect(l.trace!.lr).toHaveLength(2);
    expect(l.trace!.mse).toHaveLength(1);
    expect(lines.find((x) => x.point.loss === '100*L2')!.trace!.GEOCROSS).toBeUndefined();
    expect(existsSync(join(out, s.image!))).toBe(true);
    expect(existsSync(join(out, s.downscaled!))).toBe(true);

    const third = await runExperiment(c, { quiet: true, log: () => {} });
    expect(third).toMatchObject({ skipped: 8, ran: 0, remaining: 0 });

    // Kill mid-append: the last line is torn.
    const text = readFileSync(file, 'utf8');
    const lastStart = text.lastIndexOf('\n', text.length - 2) + 1;
    const victim = JSON.parse(text.slice(lastStart)) as ResultLine;
    writeFileSync(file, text.slice(0, lastStart + Math.floor((text.length - lastStart) / 2)));
    const log = logger();
    const { results } = readAllResults(out, log.log);
    expect(results.has(victim.id)).toBe(false);
    expect(log.text()).toMatch(/ends with a torn line .*ignored/);

    const log2 = logger();
    const fourth = await runExperiment(c, { quiet: true, log: log2.log });
    expect(log2.text()).toMatch(/results\.jsonl ends with a torn line/);
    expect(fourth).toMatchObject({ skipped: 7, ran: 1, remaining: 0 });
    lines = readLines(file); // every line parses again
    expect(lines).toHaveLength(8);
    expect(lines.map((x) => x.id).sort()).toEqual(all.map((r) => r.id).sort());
    const redone = lines.find((x) => x.id === victim.id)!;
    // Images are never overwritten: the redone run's image gets a fresh name.
    expect(redone.solutions![0].image).toBe(`images/${victim.id}.r2.png`);
    expect(existsSync(join(out, victim.solutions![0].image!))).toBe(true);
    expect(readdirSync(join(out, 'images')).filter((f) => f.startsWith(victim.id))).toHaveLength(4);
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('shards append to their own files; summarize merges them into summary.csv/json', async () => {
    const out = join(work, 'sharded');
    const cfgPath = join(work, 'sharded.json');
    writeFileSync(cfgPath, JSON.stringify(rawConfig(out)));
    const dry = await cli(['experiment', cfgPath, '--dry-run']);
    expect(dry.code, dry.err).toBe(0);
    expect(dry.out.trim().split('\n')).toHaveLength(8);
    expect(dry.out).toMatch(/^0\t[0-9a-f]{16}\tpending\t/);
    // Inside a Slurm array task (no --shard), the array picks the shard, and says so.
    Object.assign(process.env, { SLURM_ARRAY_TASK_ID: '1', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_MAX: '1' });
    try {
      const slurm = await cli(['experiment', cfgPath, '--dry-run']);
      expect(slurm.err).toMatch(/shard 2\/2 \(Slurm array task 1 of 0-1\)/);
      expect(slurm.out.trim().split('\n').map((l) => Number(l.split('\t')[0]))).toEqual([1, 3, 5, 7]);
      const clash = await cli(['experiment', cfgPath, '--dry-run', '--shard', '1/2']);
      expect(clash.code).toBe(1);
      expect(clash.err).toMatch(/--shard 1\/2 disagrees with the scheduler/);
    } finally {
      for (const k of ['SLURM_ARRAY_TASK_ID', 'SLURM_ARRAY_TASK_MIN', 'SLURM_ARRAY_TASK_MAX']) delete process.env[k];
    }

    for (const shard of ['1/2', '2/2']) {
      const r = await cli(['experiment', cfgPath, '--shard', shard, '--quiet']);
      expect(r.code, r.err).toBe(0);
    }
    expect(listResultFiles(out).map((f) => f.slice(out.length + 1))).toEqual(['results.shard-1-of-2.jsonl', 'results.shard-2-of-2.jsonl']);
    const l1 = readLines(join(out, 'results.shard-1-of-2.jsonl'));
    const l2 = readLines(join(out, 'results.shard-2-of-2.jsonl'));
    expect(l1.map((l) => l.index)).toEqual([0, 2, 4, 6]);
    expect(l2.map((l) => l.index)).toEqual([1, 3, 5, 7]);
    expect(l1[0].shard).toBe('1/2');

    // An unsharded run (or another sharding) sees them all as finished.
    const c = loadExperimentConfig(cfgPath);
    expect(await runExperiment(c, { quiet: true, log: () => {} })).toMatchObject({ skipped: 8, ran: 0 });
    expect(existsSync(join(out, 'results.jsonl'))).toBe(false);
    const bad = await cli(['experiment', cfgPath, '--shard', '3/2']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--shard "3\/2": the shard index must be between 1 and 2/);

    const s = await cli(['experiment', 'summarize', cfgPath]);
    expect(s.code, s.err).toBe(0);
    const csv = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\r\n');
    expect(csv[0]).toBe(
      'loss,n_runs,n_failed,n_missing,n_solutions,success_rate,median_final_l2,mean_final_l2,median_min_l2,mean_min_l2,mean_seconds,mean_steps_to_eps',
    );
    expect(csv).toHaveLength(3);
    const lines = [...l1, ...l2];
    for (const [row, loss] of [
      [csv[1], '100*L2'],
      [csv[2], '100*L2+0.05*GEOCROSS'],
    ] as const) {
      const cells = row.split(',');
      expect(cells[0]).toBe(loss);
      const mine = lines.filter((l) => l.point.loss === loss);
      const finals = mine.map((l) => l.solutions![0].finalMse);
      const mins = mine.map((l) => l.solutions![0].minMse);
      const met = mine.map((l) => l.solutions![0].stepsToEps).filter((x): x is number => x !== null);
      const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
      expect(cells.slice(1, 5).map(Number)).toEqual([4, 0, 0, 4]);
      expect(Number(cells[5])).toBeCloseTo(mine.filter((l) => l.solutions![0].success).length / 4, 12);
      expect(Number(cells[6])).toBeCloseTo(finiteMedian(finals)!, 12);
      expect(Number(cells[7])).toBeCloseTo(avg(finals), 12);
      expect(Number(cells[8])).toBeCloseTo(finiteMedian(mins)!, 12);
      expect(Number(cells[9])).toBeCloseTo(avg(mins), 12);
      expect(Number(cells[10])).toBeCloseTo(avg(mine.map((l) => l.seconds)), 12);
      expect(cells[11]).toBe(met.length ? String(avg(met)) : '');
    }
    const json = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(json).toMatchObject({ experiment: 'tiny', runs: 8, finished: 8, failed: 0, missing: 0, ignored: 0, gridKeys: ['loss'] });
    expect(json.points).toHaveLength(2);
    expect(json.resultFiles).toEqual(['results.shard-1-of-2.jsonl', 'results.shard-2-of-2.jsonl']);

    // A later config version: results of runs no longer in the grid are left out.
    const c2 = config({ ...rawConfig(out), seeds: [1] });
    const { summary } = await summarizeExperiment(c2, { log: () => {} });
    expect(summary).toMatchObject({ runs: 4, finished: 4, ignored: 4 });
  });

  it('records a bad image as a failed run and goes on', async () => {
    const out = join(work, 'bad');
    const c = config({
      ...rawConfig(out),
      inputs: { factor: 8, files: [badFile, size10File, lrFile], lfwSplit: { dir: lfwDir, split: 'dev', count: 1, crop: 'center' } },
      seeds: [5],
      grid: {},
    });
    const log = logger();
    const report = await runExperiment(c, { quiet: true, log: log.log });
    expect(report).toMatchObject({ total: 4, ran: 4, failed: 2, remaining: 0 });
    const lines = readLines(join(out, 'results.jsonl'));
    expect(lines.map((l) => [l.image, l.status])).toEqual([
      ['Ann_0001.jpg', 'ok'],
      [badFile, 'error'],
      [size10File, 'error'],
      [lrFile, 'ok'],
    ]);
    expect(lines[1].error).toMatch(/corrupt\.png is not an image/);
    expect(lines[2].error).toMatch(/size10\.png is 10x10; .* HR faces of 32x32 .* LR faces of 4x4/);
    expect(log.text()).toMatch(/error: run [0-9a-f]{16} \(.*corrupt\.png/);
    // Errors count as finished unless retried.
    expect(await runExperiment(c, { quiet: true, log: () => {} })).toMatchObject({ ran: 0 });
    expect(await runExperiment(c, { quiet: true, log: () => {}, retryFailed: true })).toMatchObject({ ran: 2, failed: 2 });
    const { summary } = await summarizeExperiment(c, { log: () => {} });
    expect(summary).toMatchObject({ runs: 4, finished: 2, failed: 2, missing: 0 });
    expect(summary.errors).toHaveLength(2);
    expect(summary.points[0]).toMatchObject({ finished: 2, failed: 2, solutions: 2 });
  });

  it('refuses a second process on the same results file', async () => {
    const out = join(work, 'locked');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'results.jsonl.lock'), JSON.stringify({ host: 'another-host', pid: 1, since: 'now' }));
    await expect(runExperiment(config(rawConfig(out)), { quiet: true, log: () => {} })).rejects.toThrow(/in use by another-host pid 1/);
  });
});

describe('CSV', () => {
  it('quotes what needs quoting', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded')).toBe('" padded"');
    expect(csvField('100*L2+0.05*GEOCROSS')).toBe('100*L2+0.05*GEOCROSS');
    expect(csvField(null)).toBe('');
    expect(csvField(NaN)).toBe('');
    expect(csvField(1.5e-7)).toBe('1.5e-7');
    expect(csvField([17])).toBe('[17]');
    expect(csvField([3, 17])).toBe('"[3,17]"');
    expect(toCsv([['a', 'b'], [1, 'x,y']])).toBe('a,b\r\n1,"x,y"\r\n');
  });
});
