/**
 * Per-step parity, from the recorded states and gradients of a case's `steps/` folder (the
 * check that found p64-x4's kink): from the recorded state of step 1, this implementation's
 * gradient against the recorded one; and, fed the recorded gradients, its optimiser,
 * projection and schedule against the recorded next states. Also: the calibrated bounds, and
 * the kink diagnosis on a case that sits on a kink and on one that does not.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../src/io/npy.js';
import { loadTorchCheckpoint } from '../src/io/torch-checkpoint.js';
import { caseBounds, calibrated, readCalibration, tableBounds } from '../src/parity/bounds.js';
import { caseOptions, readCase, type ParityCase } from '../src/parity/case.js';
import { maxAbsErrorRatio } from '../src/parity/check.js';
import { findKinkCandidates, layerName } from '../src/parity/kinks.js';
import { createOptimizer } from '../src/pulse/optimizers.js';
import { parseBadNoiseLayers } from '../src/pulse/options.js';
import { runPulse } from '../src/pulse/run.js';
import { scheduleFactor } from '../src/pulse/schedules.js';
import { projectToSphere, rowNorm } from '../src/pulse/spherical.js';
import { noiseSide } from '../src/stylegan/config.js';
import { Synthesis } from '../src/stylegan/synthesis.js';
import { nchwToNhwc } from '../src/parity/check.js';
import { useTestBackend } from './helpers/backend.js';
import { HAVE_SHARED_PARITY, caseDir, needsShared } from './helpers/paths.js';

beforeAll(async () => {
  await useTestBackend();
});

const pad = (n: number) => String(n).padStart(2, '0');

interface Loaded {
  dir: string;
  c: ParityCase;
  synthesis: Synthesis;
  fit: { mean: Float32Array; std: Float32Array };
}

async function loadCase(name: string): Promise<Loaded> {
  const dir = caseDir(name);
  const c = readCase(dir);
  const synthesis = Synthesis.fromStateDict(await loadTorchCheckpoint(join(dir, 'synthesis.pt')), 'synthesis.pt');
  const fit = { mean: readNpy(join(dir, 'gfit_mean.npy')).data, std: readNpy(join(dir, 'gfit_std.npy')).data };
  return { dir, c, synthesis, fit };
}

/** This implementation's gradients at the recorded state of step 1 (the latent's, then each trainable noise map's). */
async function ourFirstGradients({ dir, c, synthesis, fit }: Loaded): Promise<Float32Array[]> {
  const bad = parseBadNoiseLayers(c.bad_noise);
  const init = readNpy(join(dir, 'latent_init.npy'));
  const ref = readNpy(join(dir, 'ref_lr.npy'));
  const target = tf.tensor4d(nchwToNhwc(ref.data, ref.shape), [ref.shape[0], ref.shape[2], ref.shape[3], ref.shape[1]]);
  let grads: Float32Array[] = [];
  await runPulse(
    { synthesis, gaussianFit: fit },
    target,
    caseOptions(c, 1),
    {
      init: {
        latent: init.data,
        latentRows: init.shape[1],
        noise: Array.from({ length: c.num_layers }, (_, i) => (c.noise_type === 'zero' || bad.includes(i) ? null : readNpy(join(dir, `noise_${pad(i)}.npy`)).data)),
      },
      onGradients: (_, g) => (grads = g.map((x) => Float32Array.from(x))),
    },
  );
  target.dispose();
  return grads;
}

/** Recorded state (latent, trainable noise) and gradient of step `step` (1-based), as the optimiser sees them. */
function recorded(dir: string, c: ParityCase, step: number, what: 'state' | 'grad'): { data: Float32Array; shape: number[] }[] {
  const s = `step${pad(step)}`;
  const g = what === 'grad' ? 'grad_' : '';
  return [readNpy(join(dir, 'steps', `${s}_${g}latent.npy`)), ...c.trainable_noise.map((i) => readNpy(join(dir, 'steps', `${s}_${g}noise_${pad(i)}.npy`)))];
}

/** Noise maps are NCHW [B, 1, s, s] in the recording; with one channel that is NHWC too. */
function asTensor(a: { data: Float32Array; shape: number[] }, i: number, c: ParityCase): tf.Tensor {
  if (i === 0) return tf.tensor(a.data, a.shape);
  const side = noiseSide(c.trainable_noise[i - 1]);
  return tf.tensor4d(a.data, [c.batch, side, side, 1]);
}

/**
 * Cases with a steps/ folder, and the bounds of the gradient check at step 1 (max|a-b|/max|b|
 * per tensor). p64-x4's is wider: its step 1 crosses a kink (the recording took slope 0.2 where
 * float32 here takes 1), which moves its noise gradients by up to 6e-4 (shared README).
 */
const CASES = [
  { name: 'f32', gradBound: 2e-5, skip: false },
  { name: 'p64-x4', gradBound: 2e-3, skip: !HAVE_SHARED_PARITY },
];

describe.each(CASES)('per-step parity from the recorded states: $name', ({ name, gradBound, skip }) => {
  let loaded: Loaded;
  const why = skip ? ` ${needsShared('parity')}` : '';
  beforeAll(async () => {
    if (!skip) loaded = await loadCase(name);
  });
  afterAll(() => loaded?.synthesis.dispose());

  it.skipIf(skip)(`step 1: our gradient at the recorded state matches the recorded gradient (max|a-b|/max|b| <= ${gradBound})${why}`, async () => {
    const ours = await ourFirstGradients(loaded);
    const theirs = recorded(loaded.dir, loaded.c, 1, 'grad');
    expect(ours).toHaveLength(theirs.length);
    const errors = theirs.map((t, k) => maxAbsErrorRatio(ours[k], t.data));
    console.log(`${name} step-1 gradient errors (latent, noise ${loaded.c.trainable_noise.join(', ')}): ${errors.map((e) => e.toExponential(2)).join(', ')}`);
    for (const [k, e] of errors.entries()) expect(e, `gradient ${k}`).toBeLessThanOrEqual(gradBound);
    // The latent's gradient is far closer than the bound in both cases.
    expect(errors[0]).toBeLessThanOrEqual(1e-4);
  });

  it.skipIf(skip)(`fed the recorded gradients, optimiser + projection + schedule give the recorded next states (max|a-b|/max|b| <= 1e-5)${why}`, async () => {
    const { dir, c } = loaded;
    const first = recorded(dir, c, 1, 'state');
    let params = first.map((a, i) => asTensor(a, i, c));
    const radii = params.map((p) => rowNorm(p));
    const optimizer = createOptimizer(c.opt);
    let checked = 0;
    let worst = 0;
    for (let step = 1; step <= 5; step++) {
      let next: { data: Float32Array; shape: number[] }[];
      try {
        next = recorded(dir, c, step + 1, 'state');
      } catch {
        break;
      }
      const grads = recorded(dir, c, step, 'grad').map((a, i) => asTensor(a, i, c));
      const lr = c.lr * scheduleFactor(c.schedule, step - 1, c.steps);
      expect(Math.abs(lr - c.trace[step - 1].lr)).toBeLessThanOrEqual(1e-12);
      const stepped = optimizer.step(params, grads, lr);
      const projected = stepped.map((p, i) => projectToSphere(p, radii[i]));
      tf.dispose([...stepped, ...grads, ...params]);
      params = projected;
      for (const [k, p] of params.entries()) {
        const err = maxAbsErrorRatio(await p.data(), next[k].data);
        worst = Math.max(worst, err);
        expect(err, `step ${step + 1}, tensor ${k}`).toBeLessThanOrEqual(1e-5);
      }
      checked++;
    }
    console.log(`${name}: next states 2-${checked + 1} from the recorded gradients, worst max|a-b|/max|b| ${worst.toExponential(2)}`);
    expect(checked).toBeGreaterThanOrEqual(1);
    tf.dispose([...params, ...radii]);
    optimizer.dispose();
  });

  it.skipIf(skip)(`kink diagnosis: ${name === 'p64-x4' ? 'finds the recorded kink at step 1 (layer 7, channel 10, y 26, x 26)' : 'no pre-activation of the first steps crosses a kink'}${why}`, () => {
    const found = findKinkCandidates(loaded.dir, loaded.c, loaded.synthesis, loaded.fit);
    if (name === 'p64-x4') {
      const k = found.find((f) => f.step === 1 && f.layer === 7);
      expect(k, JSON.stringify(found)).toMatchObject({ name: 'blocks.32x32.epi2', channel: 10, y: 26, x: 26 });
      expect(Math.abs(k!.value)).toBeLessThan(1e-5);
      expect(k!.min).toBeLessThan(0);
      expect(k!.max).toBeGreaterThan(0);
    } else {
      expect(found).toEqual([]);
    }
  });
});

describe('calibrated bounds (shared README, tolerance section)', () => {
  it('the table by generator size', () => {
    const small = tableBounds(256);
    const large = tableBounds(512);
    expect([small.firstStep.value, small.firstFiveSteps.value, small.wholeRun.value, small.endState.value]).toEqual([1e-5, 1e-4, 1e-2, 5e-2]);
    expect([large.firstStep.value, large.firstFiveSteps.value, large.wholeRun.value, large.endState.value]).toEqual([3e-5, 1e-3, 1e-2, 5e-2]);
    expect(large.firstStep.origin).toBe('table, 512-1024 px');
  });

  it('is the larger of the table and 3x the calibration value, naming its origin', () => {
    const table = tableBounds(64).firstFiveSteps;
    expect(calibrated(table, 1e-5, 'x')).toBe(table);
    const raised = calibrated(table, 3.84e-4, 'trace_steps_1_5');
    expect(raised.value).toBeCloseTo(1.152e-3, 12);
    expect(raised.origin).toBe('3 x calibration trace_steps_1_5 3.84e-4');
    expect(calibrated(table, undefined, 'x')).toBe(table);
  });

  it.skipIf(!HAVE_SHARED_PARITY)(`p64-x4: steps 1-5 bound 3x its calibration, end-state bounds per file ${needsShared('parity')}`, () => {
    const b = caseBounds(64, readCalibration(caseDir('p64-x4')));
    expect(b.traceSteps1To5.value).toBeCloseTo(3 * 3.841597711764762e-4, 12);
    expect(b.traceStep1.value).toBe(1e-5);
    expect(b.endState('latent_end').value).toBeCloseTo(3 * 1.741471141576767e-2, 12);
    expect(b.endState('image_end').value).toBe(5e-2);
  });

  it('the fixture case f32 is calibrated, and its bounds are the table (its spread is small)', () => {
    const cal = readCalibration(caseDir('f32'));
    expect(cal).not.toBeNull();
    expect(cal!.variants).toHaveLength(10);
    const b = caseBounds(32, cal);
    expect(b.traceSteps1To5.origin).toBe('table, <= 256 px');
    expect(layerName(7)).toBe('blocks.32x32.epi2');
  });

  it('rejects a calibration.json without its numbers, naming the file', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const d = mkdtempSync(join(tmpdir(), 'pulse-cal-'));
    writeFileSync(join(d, 'calibration.json'), JSON.stringify({ trace_step_1: 1e-7, trace_whole: 1e-3, end_state: {} }));
    expect(() => readCalibration(d)).toThrow(/calibration\.json: trace_steps_1_5 must be a number/);
  });
});
