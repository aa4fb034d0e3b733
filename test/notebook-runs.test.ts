/**
 * The runs the notebooks make, on a tiny random-weight model (32 px) without Jupyter:
 * runRecorded and its figures (02-convergence), runDesign (04-multiple-solutions), and the
 * ablation's configs, plan, passes and images per knob (03-ablations).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePng } from '../src/io/image.js';
import { type LoadedModel, loadModel } from '../src/model/model.js';
import { sampleFaces } from '../src/model/sample.js';
import { resolveOptions } from '../src/pulse/options.js';
import { type PulseStep, runPulse } from '../src/pulse/run.js';
import { convergenceFigures, convergenceSummaryRow, runRecorded } from '../src/notebook/convergence.js';
import { runDesign } from '../src/notebook/design-run.js';
import { axisImages, parseAblationConfigs, planAblation, runAblation } from '../src/notebook/ablation-run.js';
import { type AblationRow, linesByRow, paperAxes, summarizeAblation } from '../src/notebook/ablation.js';
import { readAllResults } from '../src/experiments/results.js';
import type { ResultLine } from '../src/experiments/results.js';
import { useTestBackend } from './helpers/backend.js';
import { writeTinyTorchModel } from './helpers/tiny-model.js';

let modelDir: string;
let model: LoadedModel;
let target: tf.Tensor4D; // [1, 8, 8, 3]: factor 4

beforeAll(async () => {
  await useTestBackend();
  modelDir = await writeTinyTorchModel();
  model = await loadModel(modelDir);
  target = tf.tidy(() => tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 11) as tf.Tensor4D);
});

afterAll(() => {
  model?.dispose();
  target?.dispose();
});

describe('runRecorded (02-convergence)', () => {
  it("records one row per step, equal to runPulse's own onStep values, and snapshots every few steps", async () => {
    const options = resolveOptions({ seed: 3, steps: 5, duplicates: 2 });
    const recorded = await runRecorded(model, target, options, 2);
    const own: PulseStep[] = [];
    const direct = await runPulse(model, target, options, { onStep: (s) => void own.push(s) });

    expect(recorded.trace).toHaveLength(5);
    expect(recorded.trace.map((s) => s.step)).toEqual([0, 1, 2, 3, 4]);
    expect(recorded.trace.map((s) => s.mse)).toEqual(own.map((s) => s.mse));
    expect(recorded.trace.map((s) => s.total)).toEqual(own.map((s) => s.total));
    expect(recorded.trace.map((s) => s.lr)).toEqual(own.map((s) => s.lr));
    expect(recorded.trace.map((s) => s.terms.GEOCROSS)).toEqual(own.map((s) => s.terms.GEOCROSS));
    expect(recorded.result.minMse).toEqual(direct.minMse);
    expect(recorded.trace[0].mse).toHaveLength(2);
    expect(recorded.trace[4].total).toBeGreaterThan(0);

    // Steps 0, 2, 4 (the last), solution 1, clipped to [0, 1]; the last equals the result's image.
    expect(recorded.snapshots.map((s) => s.step)).toEqual([0, 2, 4]);
    const last = recorded.snapshots[2].image;
    expect([last.width, last.height, last.data.length]).toEqual([32, 32, 32 * 32 * 3]);
    const first = recorded.result.images.subarray(0, 32 * 32 * 3).map((v) => Math.min(1, Math.max(0, v)));
    expect(Math.max(...last.data.map((v, i) => Math.abs(v - first[i])))).toBeLessThan(1e-6);
    expect(recorded.snapshots[0].image.data).not.toEqual(last.data);
  });

  it('snapshots the last step when it is not a multiple of every, and checks every', async () => {
    const run = await runRecorded(model, target, resolveOptions({ seed: 1, steps: 4, duplicates: 1 }), 3);
    expect(run.snapshots.map((s) => s.step)).toEqual([0, 3]);
    const run1 = await runRecorded(model, target, resolveOptions({ seed: 1, steps: 2, duplicates: 1 }), 5);
    expect(run1.snapshots.map((s) => s.step)).toEqual([0, 1]);
    await expect(runRecorded(model, target, resolveOptions({ seed: 1, steps: 2, duplicates: 1 }), 0)).rejects.toThrow(/every is 0/);
  });

  it('convergenceFigures: one L2 line per solution and run plus eps, three term lines per run', async () => {
    const a = await runRecorded(model, target, resolveOptions({ seed: 1, steps: 3, duplicates: 2 }), 1);
    const b = await runRecorded(model, target, resolveOptions({ seed: 1, steps: 3, duplicates: 2, learningRate: 0.1 }), 1);
    const [l2, terms] = convergenceFigures([
      { label: 'baseline', run: a },
      { label: 'lr 0.1', run: b },
    ]);
    expect(l2.data.map((t) => t.name)).toEqual(['baseline, solution 1', 'baseline, solution 2', 'lr 0.1, solution 1', 'lr 0.1, solution 2', `eps = ${a.options.eps}`]);
    expect(l2.data[1].y).toEqual(a.trace.map((s) => s.mse[1]));
    expect(l2.data[1].x).toEqual([1, 2, 3]);
    expect(l2.data[4].y).toEqual([a.options.eps, a.options.eps]);
    expect(terms.data).toHaveLength(6);
    expect(terms.data[4].y).toEqual(b.trace.map((s) => s.total));
    expect(terms.data[5].y).toEqual(b.trace.map((s) => s.lr));
    expect(() => convergenceFigures([])).toThrow(/no runs/);

    const row = convergenceSummaryRow('baseline', a);
    expect(row['best min MSE']).toBe(Math.min(...a.result.minMse));
    expect(row['final GEOCROSS']).toBe(a.trace[2].terms.GEOCROSS);
    expect(row['solutions meeting eps']).toBe(`${a.result.success.filter(Boolean).length} of 2`);
  });
});

describe('runDesign (04-multiple-solutions)', () => {
  it("'both' is PULSE's own batch; 'noise' shares solution 1's start and differs in the others", async () => {
    const options = resolveOptions({ seed: 4, steps: 2, duplicates: 3 });
    const plain = await runPulse(model, target, options);
    const both = await runDesign(model, target, options, 'both', 4, 3);
    expect(both.result.minMse).toEqual(plain.minMse);
    expect(both.labels).toEqual(['z4 n4', 'z5 n5', 'z6 n6']);
    expect(both.images).toHaveLength(3);
    expect(both.images[2].data).toEqual(plain.images.subarray(2 * 32 * 32 * 3, 3 * 32 * 32 * 3));

    const noise = await runDesign(model, target, options, 'noise', 4, 3);
    expect(noise.labels).toEqual(['z4 n4', 'z4 n5', 'z4 n6']);
    expect(noise.label).toBe('noise resampled, latent fixed');
    expect(noise.result.minMse[0]).toBeCloseTo(both.result.minMse[0], 6);
    expect(noise.result.minMse[1]).not.toBe(both.result.minMse[1]);
    await expect(runDesign(model, target, options, 'both', 4, 2)).rejects.toThrow(/duplicates is 3 but n is 2/);
  });
});

describe('the ablation run (03-ablations)', () => {
  it('plans, runs each knob, runs nothing on the second pass, and lists the images per knob', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nb-ablation-pass-'));
    const face = join(dir, 'face.png');
    await writePng(face, { width: 32, height: 32, data: await sampleFaces(model, [3]) });
    // One knob keeps this short; notebook-helpers.test.ts checks that knobs share the baseline.
    const axes = paperAxes(2).filter((a) => a.key === 'tile');
    const out = join(dir, 'out');
    const configs = parseAblationConfigs({ name: 't', model: modelDir, inputs: { files: [face], factor: 4 }, seeds: [1], base: { eps: 1e-3 }, axes, out, saveImages: true }, 'test');
    const runsByAxis = await planAblation(configs);
    expect([...runsByAxis.keys()]).toEqual(axes.map((a) => a.key));
    expect(runsByAxis.get('tile')?.map((r) => r.point.tileLatent)).toEqual([false, true]);

    const logged: string[] = [];
    const first = await runAblation(configs, (line) => logged.push(line));
    expect(first.map((r) => [r.knob, r.runs, r['already finished'], r.ran, r.failed])).toEqual([['tile_latent', 2, 0, 2, 0]]);
    const second = await runAblation(configs, (line) => logged.push(line));
    expect(second.map((r) => [r.ran, r['already finished']])).toEqual([[0, 2]]);
    expect(logged.filter((l) => !/^(error|warning|notice)/.test(l))).toEqual([]);

    const { results } = readAllResults(out);
    const rows = summarizeAblation(axes, runsByAxis, results);
    const lines = linesByRow(rows, runsByAxis, results);
    const images = axisImages('tile', rows, lines);
    expect(images.map((i) => i.label)).toEqual(['false *', 'true']);
    for (const i of images) expect(i.file).toMatch(/^images\//);
  });

  it('axisImages leaves out values without a saved image', () => {
    const row = (axis: string, label: string, baseline: boolean) => ({ axis, label, baseline }) as AblationRow;
    const line = (image?: string) => ({ solutions: [{ image }] }) as unknown as ResultLine;
    const rows = [row('a', '1', true), row('a', '2', false), row('b', 'x', true), row('a', '3', false)];
    expect(axisImages('a', rows, [[line('i1.png')], [line()], [line('ib.png')], []])).toEqual([{ file: 'i1.png', label: '1 *' }]);
  });
});
